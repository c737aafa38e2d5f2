package org.ovseg.pipeline.maskclip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.OnnxRuntimeEngine;
import org.ovseg.tensor.HostTensor;

/**
 * Each method's last-block graph (run by ONNX Runtime) against a naive double-precision
 * implementation of the formulas in FAMILY.md, on tiny random weights; the PyTorch parity in
 * tools/ci/parity.sh checks the same against the official formulation on a real-shaped model.
 */
class FamilyGraphsTest {
    static final int D = 8, HEADS = 2, HID = 16, GW = 3, GH = 2, P = GW * GH, T = 1 + P;
    static final int DINO_C = 5, FW = 5, FH = 4;

    @TempDir
    Path dir;

    private static float[] rnd(SplittableRandom r, int n, double s) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * s);
        return a;
    }

    private static LastBlock block(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] one = new float[D];
        for (int i = 0; i < D; i++) one[i] = 1f + (float) (0.1 * r.nextGaussian());
        return new LastBlock(D, HID, HEADS, 1e-5f, false, one.clone(), rnd(r, D, 0.1),
                rnd(r, D * D, 0.5), rnd(r, D, 0.1), rnd(r, D * D, 0.5), rnd(r, D, 0.1), rnd(r, D * D, 0.5), rnd(r, D, 0.1),
                rnd(r, D * D, 0.5), rnd(r, D, 0.1), one.clone(), rnd(r, D, 0.1), rnd(r, HID * D, 0.5), rnd(r, HID, 0.1),
                rnd(r, D * HID, 0.5), rnd(r, D, 0.1), one.clone(), rnd(r, D, 0.1));
    }

    // ---- naive reference -----------------------------------------------------------------------
    private static double[][] ln(double[][] x, float[] w, float[] b) {
        double[][] y = new double[x.length][D];
        for (int t = 0; t < x.length; t++) {
            double m = 0, v = 0;
            for (double e : x[t]) m += e / D;
            for (double e : x[t]) v += (e - m) * (e - m) / D;
            for (int c = 0; c < D; c++) y[t][c] = (x[t][c] - m) / Math.sqrt(v + 1e-5) * w[c] + b[c];
        }
        return y;
    }

    private static double[][] lin(double[][] x, float[] W, float[] b, int out, int in) {
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) s += W[o * in + i] * x[t][i];
                y[t][o] = s;
            }
        }
        return y;
    }

    /** Per head: softmax(a aᵀ / √d + bias) (rows: tokens). */
    private static double[][][] selfAttn(double[][] a, double[][] bias) {
        int d = D / HEADS, n = a.length;
        double[][][] w = new double[HEADS][n][n];
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < n; i++) {
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int c = 0; c < d; c++) s += a[i][h * d + c] * a[j][h * d + c];
                    w[h][i][j] = s / Math.sqrt(d) + (bias == null ? 0 : bias[i][j]);
                    mx = Math.max(mx, w[h][i][j]);
                }
                double sum = 0;
                for (int j = 0; j < n; j++) sum += w[h][i][j] = Math.exp(w[h][i][j] - mx);
                for (int j = 0; j < n; j++) w[h][i][j] /= sum;
            }
        }
        return w;
    }

    private static double[][] apply(double[][][] w, double[][] v) {
        int d = D / HEADS, n = w[0].length;
        double[][] o = new double[n][D];
        for (int h = 0; h < HEADS; h++) for (int i = 0; i < n; i++) for (int j = 0; j < v.length; j++) for (int c = 0; c < d; c++) o[i][h * d + c] += w[h][i][j] * v[j][h * d + c];
        return o;
    }

    private static double[][] reference(FamilyMethod m, LastBlock b, double[][] x, double[][] dino) {
        double[][] y = ln(x, b.ln1w(), b.ln1b());
        double[][] q = lin(y, b.wq(), b.bq(), D, D), k = lin(y, b.wk(), b.bk(), D, D), v = lin(y, b.wv(), b.bv(), D, D);
        double[][] o;
        switch (m) {
            case SCLIP -> {
                double[][][] aq = selfAttn(q, null), ak = selfAttn(k, null);
                for (int h = 0; h < HEADS; h++) for (int i = 0; i < T; i++) for (int j = 0; j < T; j++) aq[h][i][j] += ak[h][i][j];
                double[][] z = lin(apply(aq, v), b.wo(), b.bo(), D, D);
                for (int t = 0; t < T; t++) for (int c = 0; c < D; c++) z[t][c] += x[t][c];
                double[][] f = lin(ln(z, b.ln2w(), b.ln2b()), b.fc1(), b.fc1b(), HID, D);
                for (double[] row : f) for (int c = 0; c < HID; c++) row[c] = row[c] / (1 + Math.exp(-1.702 * row[c]));
                double[][] mlp = lin(f, b.fc2(), b.fc2b(), D, HID);
                for (int t = 0; t < T; t++) for (int c = 0; c < D; c++) z[t][c] += mlp[t][c];
                o = java.util.Arrays.copyOfRange(z, 1, T);
            }
            case CLEARCLIP -> o = java.util.Arrays.copyOfRange(lin(apply(selfAttn(q, null), v), b.wo(), b.bo(), D, D), 1, T);
            case NACLIP -> {
                double[][] g = new double[T][T];
                for (int i = 0; i < P; i++) for (int j = 0; j < P; j++) {
                    int dy = i / GW - j / GW, dx = i % GW - j % GW;
                    g[1 + i][1 + j] = Math.exp(-(dy * dy + dx * dx) / 50.0);
                }
                o = java.util.Arrays.copyOfRange(lin(apply(selfAttn(k, g), v), b.wo(), b.bo(), D, D), 1, T);
            }
            case PROXYCLIP -> {
                int n = FW * FH;
                double[][] s = new double[n][n];
                double mean = 0;
                for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {
                    double dot = 0, ni = 0, nj = 0;
                    for (int c = 0; c < DINO_C; c++) {
                        dot += dino[i][c] * dino[j][c];
                        ni += dino[i][c] * dino[i][c];
                        nj += dino[j][c] * dino[j][c];
                    }
                    s[i][j] = dot / Math.sqrt(ni) / Math.sqrt(nj);
                    mean += s[i][j] / n / n;
                }
                double[][][] a = new double[HEADS][n][n];
                for (int i = 0; i < n; i++) {
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        double e = (s[i][j] - mean * 1.2) * 3.0;
                        a[0][i][j] = e < 0 ? 0 : Math.exp(e);
                        sum += a[0][i][j];
                    }
                    for (int j = 0; j < n; j++) a[0][i][j] /= sum;
                }
                for (int h = 1; h < HEADS; h++) a[h] = a[0];
                // v's patch rows resized bilinearly to the DINO grid (PyTorch's align_corners=False, by hand)
                float[] r = FamilyHead.bilinearMatrix(GW, GH, FW, FH);
                double[][] vu = new double[n][D];
                for (int i = 0; i < n; i++) for (int j = 0; j < P; j++) for (int c = 0; c < D; c++) vu[i][c] += r[i * P + j] * v[1 + j][c];
                o = lin(apply(a, vu), b.wo(), b.bo(), D, D);
            }
            default -> throw new IllegalStateException();
        }
        return ln(o, b.postW(), b.postB());
    }

    @Test
    void everyMethodMatchesTheNaiveFormulas() throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        float[] x = rnd(r, T * D, 1.0), dino = rnd(r, FW * FH * DINO_C, 1.0);
        double[][] xd = new double[T][D], dd = new double[FW * FH][DINO_C];
        for (int t = 0; t < T; t++) for (int c = 0; c < D; c++) xd[t][c] = x[t * D + c];
        for (int t = 0; t < FW * FH; t++) for (int c = 0; c < DINO_C; c++) dd[t][c] = dino[t * DINO_C + c];
        for (FamilyMethod m : new FamilyMethod[] {FamilyMethod.SCLIP, FamilyMethod.CLEARCLIP, FamilyMethod.NACLIP, FamilyMethod.PROXYCLIP}) {
            LastBlock b = block(m.ordinal());
            Path f = dir.resolve(m.cliName() + ".onnx");
            Files.write(f, FamilyGraphs.build(m, b, DINO_C));
            try (Engine e = OnnxRuntimeEngine.open(f, EngineOptions.defaults())) {
                Map<String, HostTensor> in = new HashMap<>();
                in.put(FamilyGraphs.X, HostTensor.of(x, 1, T, D));
                if (m == FamilyMethod.NACLIP) in.put(FamilyGraphs.BIAS, HostTensor.of(FamilyHead.gaussianBias(GW, GH, 5.0), T, T));
                if (m == FamilyMethod.PROXYCLIP) {
                    in.put(FamilyGraphs.DINO, HostTensor.of(dino, 1, FW * FH, DINO_C));
                    in.put(FamilyGraphs.RESAMPLE, HostTensor.of(FamilyHead.bilinearMatrix(GW, GH, FW, FH), FW * FH, P));
                }
                Map<String, HostTensor> out = e.run(in);
                float[] got = out.get(FamilyGraphs.FEATURES).toFloatArray();
                double[][] want = reference(m, b, xd, dd);
                assertEquals(want.length * D, got.length, m + " feature count");
                double err = 0;
                for (int t = 0; t < want.length; t++) for (int c = 0; c < D; c++) err = Math.max(err, Math.abs(got[t * D + c] - want[t][c]));
                assertTrue(err < 1e-4, m + ": max |graph - naive| " + err);
                in.values().forEach(HostTensor::close);
                out.values().forEach(HostTensor::close);
            }
        }
    }
}
