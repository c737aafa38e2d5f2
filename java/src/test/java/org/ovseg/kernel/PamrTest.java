package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** ovseg_cpu_pamr against a naive double-precision loop written from PAMR's definition. */
class PamrTest {
    /** Neighbour value at (y + dy·d, x + dx·d), replicate border. */
    private static double at(float[] plane, int H, int W, int y, int x) {
        return plane[Math.min(Math.max(y, 0), H - 1) * W + Math.min(Math.max(x, 0), W - 1)];
    }

    private static float[] naive(float[] img, int C, int H, int W, float[] mask, int K, int[] dil, int iters) {
        int HW = H * W, J = 8 * dil.length;
        int[][] off = {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 1}, {1, -1}, {1, 0}, {1, 1}};
        double[][] w = new double[HW][J];
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                double[] a = new double[J];
                for (int c = 0; c < C; c++) {
                    float[] plane = java.util.Arrays.copyOfRange(img, c * HW, (c + 1) * HW);
                    java.util.List<Double> vals = new java.util.ArrayList<>();
                    for (int d : dil) for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) vals.add(at(plane, H, W, y + dy * d, x + dx * d));
                    double mean = vals.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
                    double var = vals.stream().mapToDouble(v -> (v - mean) * (v - mean)).sum() / (vals.size() - 1);
                    double denom = 1e-8 + 0.1 * Math.sqrt(var);
                    for (int i = 0; i < dil.length; i++) {
                        for (int j = 0; j < 8; j++) {
                            double nb = at(plane, H, W, y + off[j][0] * dil[i], x + off[j][1] * dil[i]);
                            a[i * 8 + j] += -Math.abs(plane[y * W + x] - nb) / denom / C;
                        }
                    }
                }
                double mx = java.util.Arrays.stream(a).max().orElseThrow(), sum = 0;
                for (double v : a) sum += Math.exp(v - mx);
                for (int j = 0; j < J; j++) w[y * W + x][j] = Math.exp(a[j] - mx) / sum;
            }
        }
        double[] m = new double[K * HW];
        for (int i = 0; i < m.length; i++) m[i] = mask[i];
        for (int it = 0; it < iters; it++) {
            double[] next = new double[K * HW];
            for (int k = 0; k < K; k++) {
                float[] plane = new float[HW];
                for (int p = 0; p < HW; p++) plane[p] = (float) m[k * HW + p];
                for (int y = 0; y < H; y++) {
                    for (int x = 0; x < W; x++) {
                        double acc = 0;
                        for (int i = 0; i < dil.length; i++) {
                            for (int j = 0; j < 8; j++) {
                                int yy = Math.min(Math.max(y + off[j][0] * dil[i], 0), H - 1), xx = Math.min(Math.max(x + off[j][1] * dil[i], 0), W - 1);
                                acc += w[y * W + x][i * 8 + j] * m[k * HW + yy * W + xx];
                            }
                        }
                        next[k * HW + y * W + x] = acc;
                    }
                }
            }
            m = next;
        }
        float[] out = new float[K * HW];
        for (int i = 0; i < out.length; i++) out[i] = (float) m[i];
        return out;
    }

    private static void check(int C, int H, int W, int K, int[] dil, int iters, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] img = Bufs.gaussian(rng, C * H * W, 1.0);
        // piecewise-constant regions make the affinities far from uniform
        for (int c = 0; c < C; c++) for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) if (x > W / 2) img[(c * H + y) * W + x] += 3f;
        float[] mask = Bufs.gaussian(rng, K * H * W, 0.1);
        float[] want = naive(img, C, H, W, mask, K, dil, iters);
        FloatBuffer m = Bufs.direct(mask);
        CpuKernels.pamr(Bufs.direct(img), C, H, W, m, K, dil, iters);
        float[] got = Bufs.toArray(m);
        double maxRef = 0, maxErr = 0, moved = 0;
        for (int i = 0; i < got.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(want[i]));
            maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
            moved = Math.max(moved, Math.abs(want[i] - mask[i]));
        }
        assertTrue(maxErr <= 1e-5 * Math.max(maxRef, 1e-6), "max error " + maxErr + " vs max |ref| " + maxRef);
        if (iters > 0) assertTrue(moved > 1e-3, "the refinement must change the masks to test anything");
    }

    @Test
    void matchesTheNaiveLoopOnOddSizes() {
        check(3, 37, 23, 5, new int[] {1, 3}, 3, 1);
        check(3, 19, 31, 2, new int[] {8, 16}, 10, 2); // NACLIP's settings: most neighbours clamp to the border
        check(1, 5, 4, 1, new int[] {2}, 1, 3);
        check(2, 1, 9, 3, new int[] {1}, 2, 4);
    }

    @Test
    void zeroIterationsLeaveTheMasks() {
        float[] mask = {1, 2, 3, 4, 5, 6};
        FloatBuffer m = Bufs.direct(mask);
        CpuKernels.pamr(Bufs.direct(new float[] {0, 1, 0, 1, 0, 1}), 1, 2, 3, m, 1, new int[] {1}, 0);
        assertEquals(java.util.Arrays.toString(mask), java.util.Arrays.toString(Bufs.toArray(m)));
    }

    @Test
    void rejectsBadArguments() {
        FloatBuffer img = Bufs.floats(12), m = Bufs.floats(12);
        assertThrows(IllegalArgumentException.class, () -> CpuKernels.pamr(img, 3, 2, 2, m, 3, new int[] {0}, 1));
        assertThrows(IllegalArgumentException.class, () -> CpuKernels.pamr(img, 3, 2, 2, m, 3, new int[0], 1));
        assertThrows(IllegalArgumentException.class, () -> CpuKernels.pamr(img, 3, 2, 2, m, 3, new int[] {1}, -1));
        assertThrows(RuntimeException.class, () -> CpuKernels.pamr(img, 3, 4, 4, m, 3, new int[] {1}, 1), "buffers too small");
    }
}
