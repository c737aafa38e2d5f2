package org.ovseg.bundle.builtin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.bundle.builtin.ClipVitGraphs.Block;
import org.ovseg.bundle.builtin.ClipVitGraphs.Vit;
import org.ovseg.engine.Backend;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.OnnxRuntimeEngine;
import org.ovseg.tensor.HostTensor;

/**
 * The hand-derived Grad-CAM graph against an independent reference: a naive double-precision
 * forward pass of the same ViT (loops, no ONNX), and central finite differences of its softmax
 * probability with respect to the last block's layer_norm1 output.
 */
class ClipVitGraphsTest {
    private static final EngineOptions CPU1 = EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1).build();

    @TempDir
    Path dir;

    /** Random weights of every kind (non-zero MLP, biases, LayerNorm affine) on a 3×5 grid. */
    @Test
    void randomVitGradientsMatchFiniteDifferences() throws Exception {
        // D = 12 and hidden 20 are not powers of two; 3×5 = 15 patches plus the class token; the
        // image is 12×20 with patch 4. logit scale 20 keeps the softmax away from saturation, so
        // every foreground's gradient is well above float32 noise.
        Vit v = randomVit(12, 4, 7, 20, 3, 20f, 42);
        check(v, 12, 20, 3, 2, 7, 2e-3);
        // No background texts, one foreground: p = 1, the gradient must be (numerically) zero.
        Outputs o = runCam(v, randomPixels(12, 20, 5), 12, 20, randomTexts(1, 7, 6), new float[0][]);
        for (float g : o.gradients) assertEquals(0f, g, 1e-6f);
    }

    /** The demo's own proposal network on a two-colour image: the weights the product ships. */
    @Test
    void demoProposalGradientsMatchFiniteDifferences() throws Exception {
        int H = 48, W = 64;
        float[] rgb = new float[3 * H * W];
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                boolean red = x < 40 && y >= 16;
                float[] c = red ? new float[] {1, 0, 0} : new float[] {0, 0, 1};
                for (int ch = 0; ch < 3; ch++) {
                    rgb[(ch * H + y) * W + x] = (c[ch] - ColourWorldNetworks.MEAN[ch]) / ColourWorldNetworks.STD[ch];
                }
            }
        }
        Vit v = ColourWorldCarNetworks.proposalVit();
        // Texts shaped like the demo's text tower: a colour code plus a little of dims the image
        // never uses; background texts only the latter.
        float[][] texts = {unit(16, 0), unit(16, 2), unit(16, 5)}; // red, blue, magenta codes
        float[][] bg = {other(16, 0.3, 9), other(16, 0.5, 11)};
        int grid = ColourWorldCarNetworks.GRID;
        float[] pos = resizePositions(ColourWorldCarNetworks.positionalEmbedding(grid), grid, H / 16, W / 16, v.width());
        Outputs o = runCam(v, rgb, H, W, texts, bg, pos);
        Naive n = new Naive(v);
        double[][] ref = n.forward(rgb, H, W, pos);
        compareActivationsAndAttention(n, o, ref, 1e-3);
        finiteDifferences(n, o, texts, bg, 2e-3);
        // Red's map: positive on red patches, zero on blue ones (the CAM's sign pattern).
        int P = (H / 16) * (W / 16), D = v.width();
        double[] w = new double[D];
        for (int p = 0; p < P; p++) for (int c = 0; c < D; c++) w[c] += o.gradients[p * D + c] / P;
        for (int p = 0; p < P; p++) {
            double cam = 0;
            for (int c = 0; c < D; c++) cam += w[c] * o.activations[p * D + c];
            int gy = p / (W / 16), gx = p % (W / 16);
            boolean red = gx * 16 < 40 && gx * 16 + 16 <= 40 && gy >= 1;
            boolean blue = gx * 16 >= 40 || gy == 0;
            if (red) assertTrue(cam > 0, "red patch " + p + " cam " + cam);
            if (blue) assertTrue(cam <= 1e-9, "blue patch " + p + " cam " + cam);
        }
    }

    /** The classifier tower against the naive forward: class token after all blocks. */
    @Test
    void classifierGraphMatchesNaiveForward() throws Exception {
        Vit v = randomVit(12, 4, 7, 20, 2, 100f, 7);
        int S = 12, grid = 3;
        float[] pos = randomArray((1 + grid * grid) * v.width(), 0.5, 8);
        Path f = Files.write(dir.resolve("cls.onnx"), ClipVitGraphs.classifierGraph(v, pos, 1 + grid * grid, "t"));
        float[] a = randomPixels(S, S, 1), b = randomPixels(S, S, 2);
        float[] batch = new float[a.length * 2];
        System.arraycopy(a, 0, batch, 0, a.length);
        System.arraycopy(b, 0, batch, a.length, b.length);
        float[] got;
        try (Engine e = OnnxRuntimeEngine.open(f, CPU1); HostTensor in = HostTensor.of(batch, 2, 3, S, S)) {
            Map<String, HostTensor> out = e.run(Map.of("pixel_values", in));
            got = out.get("image_embeds").toFloatArray();
            out.values().forEach(HostTensor::close);
        }
        Naive n = new Naive(v);
        for (int i = 0; i < 2; i++) {
            double[][] x = n.forward(i == 0 ? a : b, S, S, pos);
            double[] cls = n.layerNorm(x[0], v.lnPostW(), v.lnPostB());
            for (int e = 0; e < v.embed(); e++) {
                double want = 0;
                for (int d = 0; d < v.width(); d++) want += cls[d] * v.proj()[d * v.embed() + e];
                assertEquals(want, got[i * v.embed() + e], 1e-4 * (1 + Math.abs(want)), "image " + i + " dim " + e);
            }
        }
    }

    // ------------------------------------------------------------------------------- checking

    private void check(Vit v, int H, int W, int fg, int bg, int E, double tolerance) throws Exception {
        float[] px = randomPixels(H, W, 3);
        float[][] f = randomTexts(fg, E, 4), b = randomTexts(bg, E, 5);
        float[] pos = randomArray((1 + (H / v.patch()) * (W / v.patch())) * v.width(), 0.5, 9);
        Outputs o = runCam(v, px, H, W, f, b, pos);
        Naive n = new Naive(v);
        double[][] ref = n.forward(px, H, W, pos);
        compareActivationsAndAttention(n, o, ref, 1e-4);
        finiteDifferences(n, o, f, b, tolerance);
    }

    private static void compareActivationsAndAttention(Naive n, Outputs o, double[][] ref, double tol) {
        int T = ref.length, P = T - 1, D = n.v.width();
        for (int p = 0; p < P; p++) {
            for (int c = 0; c < D; c++) {
                double want = n.lastH[p + 1][c];
                assertEquals(want, o.activations[p * D + c], tol * (1 + Math.abs(want)), "activation " + p + "," + c);
            }
        }
        int blocks = n.attention.size();
        for (int b = 0; b < blocks; b++) {
            for (int i = 0; i < P; i++) {
                for (int j = 0; j < P; j++) {
                    assertEquals(n.attention.get(b)[i + 1][j + 1], o.attention[(b * P + i) * P + j], tol, "attention " + b);
                }
            }
        }
    }

    /**
     * (p_f(h + εe) − p_f(h − εe)) / 2ε at every patch and channel, in double precision with
     * ε = 1e-5; tolerance relative to the largest gradient of that query (the graph runs in
     * float32).
     */
    private static void finiteDifferences(Naive n, Outputs o, float[][] fg, float[][] bg, double tolerance) {
        int T = n.lastX1.length, P = T - 1, D = n.v.width();
        double eps = 1e-5;
        for (int f = 0; f < fg.length; f++) {
            double max = 0;
            for (int i = 0; i < P * D; i++) max = Math.max(max, Math.abs(o.gradients[f * P * D + i]));
            assertTrue(max > 1e-8, "query " + f + ": all-zero gradient");
            double worst = 0;
            for (int p = 0; p < P; p++) {
                for (int c = 0; c < D; c++) {
                    double[][] h = copy(n.lastH);
                    h[p + 1][c] += eps;
                    double up = n.probability(n.lastX1, h, fg, bg, f);
                    h[p + 1][c] -= 2 * eps;
                    double down = n.probability(n.lastX1, h, fg, bg, f);
                    double fd = (up - down) / (2 * eps);
                    worst = Math.max(worst, Math.abs(fd - o.gradients[(f * P + p) * D + c]));
                }
            }
            assertTrue(worst <= tolerance * max, "query " + f + ": max |graph − finite difference| " + worst + " vs max |grad| " + max);
        }
    }

    // ---------------------------------------------------------------------------------- graph

    record Outputs(float[] activations, float[] gradients, float[] attention) {}

    private Outputs runCam(Vit v, float[] px, int H, int W, float[][] fg, float[][] bg) throws Exception {
        return runCam(v, px, H, W, fg, bg, randomArray((1 + (H / v.patch()) * (W / v.patch())) * v.width(), 0.5, 9));
    }

    private Outputs runCam(Vit v, float[] px, int H, int W, float[][] fg, float[][] bg, float[] pos) throws Exception {
        Path f = Files.write(dir.resolve("cam-" + System.nanoTime() + ".onnx"), ClipVitGraphs.camGraph(v, "t"));
        int T = pos.length / v.width();
        Map<String, HostTensor> in = new HashMap<>();
        try (Engine e = OnnxRuntimeEngine.open(f, CPU1)) {
            in.put("pixel_values", HostTensor.of(px, 1, 3, H, W));
            in.put("pos_embed", HostTensor.of(pos, 1, T, v.width()));
            in.put("fg_embeds", HostTensor.of(flat(fg, v.embed()), fg.length, v.embed()));
            in.put("bg_embeds", HostTensor.of(flat(bg, v.embed()), bg.length, v.embed()));
            Map<String, HostTensor> out = e.run(in);
            Outputs o = new Outputs(out.get("activations").toFloatArray(), out.get("gradients").toFloatArray(), out.get("attention").toFloatArray());
            out.values().forEach(HostTensor::close);
            return o;
        } finally {
            in.values().forEach(HostTensor::close);
        }
    }

    // ---------------------------------------------------------------------------------- naive

    /** A plain double-precision ViT forward pass, written from the architecture, not the graph. */
    static final class Naive {
        final Vit v;
        final List<double[][]> attention = new ArrayList<>();
        double[][] lastX1, lastH;

        Naive(Vit v) {
            this.v = v;
        }

        /** @return the tokens after all blocks; records attention, and the last block's input and h */
        double[][] forward(float[] px, int H, int W, float[] pos) {
            int D = v.width(), p = v.patch(), gh = H / p, gw = W / p, T = 1 + gh * gw;
            double[][] x = new double[T][D];
            for (int d = 0; d < D; d++) x[0][d] = v.classEmbedding()[d];
            for (int gy = 0; gy < gh; gy++) {
                for (int gx = 0; gx < gw; gx++) {
                    for (int d = 0; d < D; d++) {
                        double s = 0;
                        for (int c = 0; c < 3; c++) {
                            for (int i = 0; i < p; i++) {
                                for (int j = 0; j < p; j++) {
                                    s += v.patchWeight()[((d * 3 + c) * p + i) * p + j] * px[(c * H + gy * p + i) * W + gx * p + j];
                                }
                            }
                        }
                        x[1 + gy * gw + gx][d] = s;
                    }
                }
            }
            for (int t = 0; t < T; t++) for (int d = 0; d < D; d++) x[t][d] += pos[t * D + d];
            for (int t = 0; t < T; t++) x[t] = layerNorm(x[t], v.lnPreW(), v.lnPreB());
            attention.clear();
            for (int b = 0; b < v.blocks().size(); b++) {
                Block w = v.blocks().get(b);
                double[][] h = new double[T][];
                for (int t = 0; t < T; t++) h[t] = layerNorm(x[t], w.ln1w(), w.ln1b());
                lastX1 = x;
                lastH = h;
                x = blockFromH(w, x, h, b >= v.blocks().size() - Math.min(8, v.blocks().size()));
            }
            return x;
        }

        double[][] blockFromH(Block w, double[][] x, double[][] h, boolean record) {
            int T = x.length, D = v.width(), Hd = w.hidden();
            double[][] q = linear(h, w.wq(), w.bq(), D, D), k = linear(h, w.wk(), w.bk(), D, D), val = linear(h, w.wv(), w.bv(), D, D);
            double[][] a = new double[T][T];
            for (int i = 0; i < T; i++) {
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < T; j++) {
                    double s = 0;
                    for (int d = 0; d < D; d++) s += q[i][d] * k[j][d];
                    a[i][j] = s / Math.sqrt(D);
                    mx = Math.max(mx, a[i][j]);
                }
                double z = 0;
                for (int j = 0; j < T; j++) z += a[i][j] = Math.exp(a[i][j] - mx);
                for (int j = 0; j < T; j++) a[i][j] /= z;
            }
            if (record) attention.add(a);
            double[][] u = new double[T][D];
            for (int i = 0; i < T; i++) for (int j = 0; j < T; j++) for (int d = 0; d < D; d++) u[i][d] += a[i][j] * val[j][d];
            double[][] o = linear(u, w.wo(), w.bo(), D, D);
            double[][] x2 = new double[T][D];
            for (int t = 0; t < T; t++) for (int d = 0; d < D; d++) x2[t][d] = x[t][d] + o[t][d];
            double[][] m = new double[T][];
            for (int t = 0; t < T; t++) m[t] = layerNorm(x2[t], w.ln2w(), w.ln2b());
            double[][] f = linear(m, w.fc1(), w.fc1b(), D, Hd);
            for (double[] row : f) for (int i = 0; i < Hd; i++) row[i] = row[i] / (1 + Math.exp(-1.702 * row[i]));
            double[][] y = linear(f, w.fc2(), w.fc2b(), Hd, D);
            for (int t = 0; t < T; t++) for (int d = 0; d < D; d++) x2[t][d] += y[t][d];
            return x2;
        }

        /** p_f with the last block's h given (its residual input x1 held fixed). */
        double probability(double[][] x1, double[][] h, float[][] fg, float[][] bg, int f) {
            Block w = v.blocks().get(v.blocks().size() - 1);
            List<double[][]> saved = new ArrayList<>(attention);
            double[][] x3 = blockFromH(w, x1, h, false);
            attention.clear();
            attention.addAll(saved);
            int T = x3.length, D = v.width(), E = v.embed();
            double[] mean = new double[D];
            for (int t = 1; t < T; t++) {
                double[] y = layerNorm(x3[t], v.lnPostW(), v.lnPostB());
                for (int d = 0; d < D; d++) mean[d] += y[d] / (T - 1);
            }
            double[] e = new double[E];
            for (int d = 0; d < D; d++) for (int j = 0; j < E; j++) e[j] += mean[d] * v.proj()[d * E + j];
            double norm = 0;
            for (double c : e) norm += c * c;
            norm = Math.sqrt(norm);
            List<float[]> texts = new ArrayList<>(List.of(fg));
            texts.addAll(List.of(bg));
            double[] l = new double[texts.size()];
            double mx = Double.NEGATIVE_INFINITY;
            for (int q = 0; q < l.length; q++) {
                double s = 0;
                for (int j = 0; j < E; j++) s += e[j] / norm * texts.get(q)[j];
                l[q] = v.logitScale() * s;
                mx = Math.max(mx, l[q]);
            }
            double z = 0;
            for (double c : l) z += Math.exp(c - mx);
            return Math.exp(l[f] - mx) / z;
        }

        double[] layerNorm(double[] x, float[] w, float[] b) {
            int D = x.length;
            double mu = 0, var = 0;
            for (double c : x) mu += c / D;
            for (double c : x) var += (c - mu) * (c - mu) / D;
            double r = 1 / Math.sqrt(var + ClipVitGraphs.LN_EPS);
            double[] y = new double[D];
            for (int d = 0; d < D; d++) y[d] = (x[d] - mu) * r * w[d] + b[d];
            return y;
        }

        private static double[][] linear(double[][] x, float[] w, float[] b, int in, int out) {
            double[][] y = new double[x.length][out];
            for (int t = 0; t < x.length; t++) {
                for (int o = 0; o < out; o++) {
                    double s = b[o];
                    for (int i = 0; i < in; i++) s += x[t][i] * w[i * out + o];
                    y[t][o] = s;
                }
            }
            return y;
        }
    }

    // -------------------------------------------------------------------------------- helpers

    private static Vit randomVit(int D, int patch, int E, int hidden, int blocks, float logitScale, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Block> bs = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            bs.add(new Block(around1(D, r), rand(D, 0.1, r), rand(D * D, 0.6, r), rand(D, 0.1, r), rand(D * D, 0.6, r), rand(D, 0.1, r),
                    rand(D * D, 0.4, r), rand(D, 0.1, r), rand(D * D, 0.4, r), rand(D, 0.1, r), around1(D, r), rand(D, 0.1, r),
                    rand(D * hidden, 0.5, r), rand(hidden, 0.1, r), rand(hidden * D, 0.3, r), rand(D, 0.1, r)));
        }
        return new Vit(D, patch, E, rand(D * 3 * patch * patch, 0.2, r), rand(D, 0.5, r), around1(D, r), rand(D, 0.1, r), bs,
                around1(D, r), rand(D, 0.1, r), rand(D * E, 0.5, r), logitScale);
    }

    private static float[] rand(int n, double scale, SplittableRandom r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return a;
    }

    private static float[] around1(int n, SplittableRandom r) {
        float[] a = rand(n, 0.3, r);
        for (int i = 0; i < n; i++) a[i] += 1f;
        return a;
    }

    private static float[] randomArray(int n, double scale, long seed) {
        return rand(n, scale, new SplittableRandom(seed));
    }

    private static float[] randomPixels(int H, int W, long seed) {
        return randomArray(3 * H * W, 2, seed);
    }

    private static float[][] randomTexts(int n, int E, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] t = new float[n][];
        for (int i = 0; i < n; i++) {
            t[i] = rand(E, 1, r);
            normalise(t[i]);
        }
        return t;
    }

    private static float[] unit(int E, int k) {
        float[] t = other(E, 0.1, 8);
        t[k] = 1f;
        normalise(t);
        return t;
    }

    private static float[] other(int E, double weight, int dim) {
        float[] t = new float[E];
        t[dim] = (float) weight;
        t[7] = 0.1f;
        normalise(t);
        return t;
    }

    private static void normalise(float[] t) {
        double n = 0;
        for (float c : t) n += c * c;
        for (int i = 0; i < t.length; i++) t[i] /= (float) Math.sqrt(n);
    }

    private static float[] flat(float[][] rows, int E) {
        float[] f = new float[rows.length * E];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, f, i * E, E);
        return f;
    }

    /** Grid rows resized by nearest copy (the demo's positions are constant, so any resize is exact). */
    private static float[] resizePositions(float[] pos, int grid, int gh, int gw, int D) {
        float[] out = new float[(1 + gh * gw) * D];
        System.arraycopy(pos, 0, out, 0, D);
        for (int p = 0; p < gh * gw; p++) System.arraycopy(pos, D, out, (1 + p) * D, D);
        return out;
    }

    private static double[][] copy(double[][] a) {
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) c[i] = a[i].clone();
        return c;
    }
}
