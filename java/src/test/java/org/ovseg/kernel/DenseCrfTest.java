package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The native permutohedral dense CRF against an exact O(N²) mean-field in double precision with
 * the same semantics (self term included, symmetric normalisation D^-½ K D^-½, Potts). The
 * lattice approximates the Gaussian, so the comparison bounds are: argmax agreement ≥ 95%,
 * mean |ΔQ| ≤ 0.03, and |ΔQ| ≤ 0.25 on pixels whose labels agree (a pixel on a region boundary
 * is bistable under mean-field and may flip whole). Identity cases are exact to 1e-6.
 */
class DenseCrfTest {
    /** Three vertical colour bands with noisy colours; 15% of the unaries favour a wrong label. */
    private static final class Scene {
        final int L, H, W;
        final float[] unary;
        final byte[] rgb;
        final int[] truth;

        Scene(int L, int H, int W, long seed, double flip) {
            this.L = L;
            this.H = H;
            this.W = W;
            int n = H * W;
            unary = new float[L * n];
            rgb = new byte[n * 3];
            truth = new int[n];
            SplittableRandom rng = new SplittableRandom(seed);
            int[][] colours = {{200, 40, 40}, {40, 180, 60}, {30, 50, 210}};
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    int p = y * W + x, t = Math.min(L - 1, x * L / W);
                    truth[p] = t;
                    for (int c = 0; c < 3; c++) {
                        rgb[p * 3 + c] = (byte) Math.max(0, Math.min(255, colours[t % 3][c] + rng.nextInt(21) - 10));
                    }
                    int fav = rng.nextDouble() < flip ? (t + 1 + rng.nextInt(L - 1)) % L : t;
                    for (int l = 0; l < L; l++) {
                        double prob = l == fav ? 0.45 + 0.2 * rng.nextDouble() : 0.1 + 0.2 * rng.nextDouble();
                        unary[l * n + p] = (float) -Math.log(prob);
                    }
                }
            }
        }
    }

    private static double[] softmaxNeg(double[] energy, int L, int n) {
        double[] q = new double[energy.length];
        for (int p = 0; p < n; p++) {
            double mx = Double.NEGATIVE_INFINITY, s = 0;
            for (int l = 0; l < L; l++) mx = Math.max(mx, -energy[l * n + p]);
            for (int l = 0; l < L; l++) s += q[l * n + p] = Math.exp(-energy[l * n + p] - mx);
            for (int l = 0; l < L; l++) q[l * n + p] /= s;
        }
        return q;
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    /** Exact dense mean-field: Q = softmax(-U + Σ_k w_k D_k^-½ K_k D_k^-½ Q), self term included. */
    static double[] naive(float[] unary, byte[] rgb, int L, int H, int W, DenseCrf.Params p) {
        int n = H * W;
        double[] q = softmaxNeg(toDouble(unary), L, n);
        double[][] kernels = new double[2][], norms = new double[2][];
        double[] weights = {p.gaussCompat(), p.bilatCompat()};
        for (int t = 0; t < 2; t++) {
            if (weights[t] == 0) continue;
            double[] k = new double[n * n], norm = new double[n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double dx = i % W - j % W, dy = i / W - j / W, e;
                    if (t == 0) {
                        e = (dx * dx + dy * dy) / (2.0 * p.gaussSxy() * p.gaussSxy());
                    } else {
                        double dc = 0;
                        for (int c = 0; c < 3; c++) {
                            double d = (rgb[i * 3 + c] & 0xff) - (rgb[j * 3 + c] & 0xff);
                            dc += d * d;
                        }
                        e = (dx * dx + dy * dy) / (2.0 * p.bilatSxy() * p.bilatSxy())
                                + dc / (2.0 * p.bilatSrgb() * p.bilatSrgb());
                    }
                    k[i * n + j] = Math.exp(-e);
                    norm[i] += k[i * n + j];
                }
            }
            for (int i = 0; i < n; i++) norm[i] = 1 / Math.sqrt(norm[i]);
            kernels[t] = k;
            norms[t] = norm;
        }
        if (kernels[0] == null && kernels[1] == null) return q;
        for (int it = 0; it < p.iterations(); it++) {
            double[] energy = toDouble(unary);
            for (int t = 0; t < 2; t++) {
                if (kernels[t] == null) continue;
                double[] k = kernels[t], norm = norms[t];
                for (int l = 0; l < L; l++) {
                    for (int i = 0; i < n; i++) {
                        double s = 0;
                        for (int j = 0; j < n; j++) s += k[i * n + j] * norm[j] * q[l * n + j];
                        energy[l * n + i] -= weights[t] * norm[i] * s;
                    }
                }
            }
            q = softmaxNeg(energy, L, n);
        }
        return q;
    }

    private static int[] argmax(double[] q, int L, int n) {
        int[] a = new int[n];
        for (int p = 0; p < n; p++) {
            for (int l = 1; l < L; l++) if (q[l * n + p] > q[a[p] * n + p]) a[p] = l;
        }
        return a;
    }

    @ParameterizedTest
    @CsvSource({
        // seed, iterations, gaussSxy, gaussCompat, bilatSxy, bilatSrgb, bilatCompat
        "1, 10, 1, 3, 67, 3, 4",
        "2, 10, 1, 3, 67, 3, 4",
        "3, 5, 3, 3, 5, 30, 5",
        "4, 10, 2, 4, 1, 1, 0",
        "5, 10, 1, 0, 20, 15, 6"})
    void latticeMatchesExactMeanField(long seed, int iters, float gs, float gc, float bs, float br, float bc) {
        int L = 3, H = 8, W = 10, n = H * W;
        Scene s = new Scene(L, H, W, seed, 0.15);
        DenseCrf.Params p = new DenseCrf.Params(iters, gs, gc, bs, br, bc);
        float[] got = DenseCrf.marginals(s.unary, s.rgb, L, H, W, p);
        double[] want = naive(s.unary, s.rgb, L, H, W, p);
        int[] a = argmax(toDouble(got), L, n), b = argmax(want, L, n);
        int agree = 0;
        for (int i = 0; i < n; i++) agree += a[i] == b[i] ? 1 : 0;
        double mean = 0, worst = 0;
        for (int i = 0; i < want.length; i++) {
            double e = Math.abs(got[i] - want[i]);
            mean += e / want.length;
            if (a[i % n] == b[i % n]) worst = Math.max(worst, Double.isNaN(e) ? Double.POSITIVE_INFINITY : e);
        }
        String what = String.format("agreement %d/%d, mean |dQ| %.4f, max |dQ| %.4f", agree, n, mean, worst);
        assertTrue(agree >= 0.95 * n, what);
        assertTrue(mean <= 0.03, what);
        assertTrue(worst <= 0.25, what);
        int[] labels = DenseCrf.labels(s.unary, s.rgb, L, H, W, p);
        assertArrayEquals(a, labels, "labels() is the argmax of marginals()");
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int l = 0; l < L; l++) sum += got[l * n + i];
            assertEquals(1, sum, 1e-5, "marginals sum to 1 at " + i);
        }
    }

    /** The host-array CUDA entry the CaR pipeline uses on the GPU: the CPU's marginals within 1e-4. */
    @Test
    void cudaMarginalsMatchTheCpuTwinOrSayWhyNot() {
        int L = 4, H = 37, W = 53, n = H * W; // odd sizes: partial blocks in every kernel
        Scene s = new Scene(L, H, W, 5, 0.2);
        if (Device.cuda().isEmpty()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> DenseCrf.marginalsCuda(s.unary, s.rgb, L, H, W, DenseCrf.Params.CAR));
            assertTrue(e.getMessage().contains("GPU") || e.getMessage().contains("CUDA") || e.getMessage().contains("cuda"), e.getMessage());
            Assumptions.abort("no GPU, skipped the comparison: " + Device.cudaUnavailableReason());
        }
        float[] cpu = DenseCrf.marginals(s.unary, s.rgb, L, H, W, DenseCrf.Params.CAR);
        float[] gpu = DenseCrf.marginalsCuda(s.unary, s.rgb, L, H, W, DenseCrf.Params.CAR);
        for (int i = 0; i < L * n; i++) assertEquals(cpu[i], gpu[i], 1e-4, "marginal " + i);
    }

    @Test
    void withoutPairwiseTermsTheMarginalsAreSoftmaxOfMinusUnary() {
        int L = 3, H = 8, W = 10, n = H * W;
        Scene s = new Scene(L, H, W, 11, 0.15);
        double[] want = softmaxNeg(toDouble(s.unary), L, n);
        DenseCrf.Params[] cases = {new DenseCrf.Params(10, 1, 0, 67, 3, 0), DenseCrf.Params.CAR.withIterations(0)};
        for (DenseCrf.Params p : cases) {
            float[] got = DenseCrf.marginals(s.unary, s.rgb, L, H, W, p);
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-6, p + " at " + i);
        }
    }

    @Test
    void cleansIsolatedFlippedUnariesOnTwoRegions() {
        // Left half dark, right half bright; 20% of the unaries point at the other region's label.
        int L = 2, H = 24, W = 32, n = H * W;
        SplittableRandom rng = new SplittableRandom(99);
        float[] unary = new float[L * n];
        byte[] rgb = new byte[n * 3];
        int[] truth = new int[n];
        for (int p = 0; p < n; p++) {
            int t = (p % W) < W / 2 ? 0 : 1;
            truth[p] = t;
            for (int c = 0; c < 3; c++) rgb[p * 3 + c] = (byte) ((t == 0 ? 40 : 210) + rng.nextInt(11) - 5);
            int fav = rng.nextDouble() < 0.2 ? 1 - t : t;
            double pf = 0.6 + 0.2 * rng.nextDouble();
            unary[fav * n + p] = (float) -Math.log(pf);
            unary[(1 - fav) * n + p] = (float) -Math.log(1 - pf);
        }
        int before = 0, after = 0;
        int[] labels = DenseCrf.labels(unary, rgb, L, H, W, DenseCrf.Params.CAR);
        for (int p = 0; p < n; p++) {
            int raw = unary[0 * n + p] <= unary[1 * n + p] ? 0 : 1;
            before += raw == truth[p] ? 1 : 0;
            after += labels[p] == truth[p] ? 1 : 0;
        }
        assertTrue(after > before, "correct pixels before " + before + ", after " + after);
        assertTrue(after >= 0.98 * n, "correct pixels after " + after + " of " + n);
    }

    @Test
    void emptyAndSinglePixelImages() {
        assertEquals(0, DenseCrf.marginals(new float[0], new byte[0], 3, 0, 5, DenseCrf.Params.CAR).length);
        assertArrayEquals(new int[] {-1, -1}, DenseCrf.labels(new float[0], new byte[6], 0, 1, 2, DenseCrf.Params.CAR));
        assertArrayEquals(new float[] {1f}, DenseCrf.marginals(new float[] {2f}, new byte[3], 1, 1, 1, DenseCrf.Params.CAR));
    }

    @Test
    void rejectsBadArguments() {
        DenseCrf.Params p = DenseCrf.Params.CAR;
        float[] u = new float[3 * 2 * 2];
        byte[] rgb = new byte[2 * 2 * 3];
        assertThrows(IllegalArgumentException.class, () -> DenseCrf.marginals(null, rgb, 3, 2, 2, p));
        assertThrows(IllegalArgumentException.class, () -> DenseCrf.marginals(u, null, 3, 2, 2, p));
        assertThrows(IllegalArgumentException.class, () -> DenseCrf.marginals(u, rgb, 3, 2, 2, null));
        assertThrows(IllegalArgumentException.class, () -> DenseCrf.marginals(u, rgb, -3, 2, 2, p));
        assertThrows(IllegalArgumentException.class, () -> DenseCrf.marginals(u, rgb, 2, 2, 2, p));
        assertThrows(IllegalArgumentException.class, () -> DenseCrf.marginals(u, new byte[11], 3, 2, 2, p));
        assertThrows(IllegalArgumentException.class, () -> new DenseCrf.Params(-1, 1, 3, 67, 3, 4));
        assertThrows(IllegalArgumentException.class, () -> new DenseCrf.Params(10, 0, 3, 67, 3, 4));
        assertThrows(IllegalArgumentException.class, () -> new DenseCrf.Params(10, 1, 3, 67, Float.NaN, 4));
        assertThrows(IllegalArgumentException.class, () -> new DenseCrf.Params(10, 1, Float.POSITIVE_INFINITY, 67, 3, 4));
        new DenseCrf.Params(10, 0, 0, -1, 0, 0);  // switched-off kernels: std devs not checked
        assertEquals(new DenseCrf.Params(10, 1, 3, 67, 3, 4), DenseCrf.Params.defaults());
    }
}
