package org.ovseg.engine.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;

/** Naive reference implementations of the ops the writer tests use, on flat row-major arrays. */
final class Ref {
    private Ref() {}

    static float[] random(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return a;
    }

    /** [batch, m, k] @ [k, n] (the weight shared across the batch) */
    static float[] matMul(float[] a, int batch, int m, int k, float[] b, int n) {
        float[] c = new float[batch * m * n];
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double) a[(z * m + i) * k + p] * b[p * n + j];
                    c[(z * m + i) * n + j] = (float) s;
                }
        return c;
    }

    /** batched [batch, m, k] @ [batch, k, n] */
    static float[] bmm(float[] a, float[] b, int batch, int m, int k, int n) {
        float[] c = new float[batch * m * n];
        for (int z = 0; z < batch; z++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double) a[(z * m + i) * k + p] * b[(z * k + p) * n + j];
                    c[(z * m + i) * n + j] = (float) s;
                }
        return c;
    }

    /** adds a row vector to every row of width {@code n} */
    static float[] addRow(float[] x, float[] row) {
        float[] y = x.clone();
        for (int i = 0; i < y.length; i++) y[i] += row[i % row.length];
        return y;
    }

    static float[] add(float[] a, float[] b) {
        float[] y = a.clone();
        for (int i = 0; i < y.length; i++) y[i] += b[i];
        return y;
    }

    static float[] layerNorm(float[] x, int n, float[] scale, float[] bias, double eps) {
        float[] y = new float[x.length];
        for (int r = 0; r < x.length / n; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++) mean += x[r * n + i];
            mean /= n;
            for (int i = 0; i < n; i++) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
            var /= n;
            for (int i = 0; i < n; i++) y[r * n + i] = (float) ((x[r * n + i] - mean) / Math.sqrt(var + eps) * scale[i] + bias[i]);
        }
        return y;
    }

    static float[] softmax(float[] x, int n) {
        float[] y = new float[x.length];
        for (int r = 0; r < x.length / n; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < n; i++) max = Math.max(max, x[r * n + i]);
            for (int i = 0; i < n; i++) sum += Math.exp(x[r * n + i] - max);
            for (int i = 0; i < n; i++) y[r * n + i] = (float) (Math.exp(x[r * n + i] - max) / sum);
        }
        return y;
    }

    static float[] quickGelu(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = (float) (x[i] / (1 + Math.exp(-1.702 * x[i])));
        return y;
    }

    static float[] scale(float[] x, double s) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = (float) (x[i] * s);
        return y;
    }

    /** generic 4-D permutation of a row-major tensor */
    static float[] permute(float[] x, int[] dims, int[] perm) {
        int[] od = new int[4];
        for (int i = 0; i < 4; i++) od[i] = dims[perm[i]];
        int[] is = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
        float[] y = new float[x.length];
        int o = 0;
        for (int a = 0; a < od[0]; a++)
            for (int b = 0; b < od[1]; b++)
                for (int c = 0; c < od[2]; c++)
                    for (int d = 0; d < od[3]; d++) {
                        int[] idx = {a, b, c, d};
                        int src = 0;
                        for (int i = 0; i < 4; i++) src += idx[i] * is[perm[i]];
                        y[o++] = x[src];
                    }
        return y;
    }

    /** NCHW conv, no padding, no bias */
    static float[] conv(float[] x, int c, int h, int w, float[] k, int oc, int kh, int kw, int stride) {
        int oh = (h - kh) / stride + 1, ow = (w - kw) / stride + 1;
        float[] y = new float[oc * oh * ow];
        for (int o = 0; o < oc; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double s = 0;
                    for (int ci = 0; ci < c; ci++)
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++)
                                s += (double) x[(ci * h + i * stride + u) * w + j * stride + v] * k[((o * c + ci) * kh + u) * kw + v];
                    y[(o * oh + i) * ow + j] = (float) s;
                }
        return y;
    }

    /** Asserts |a-b| <= atol + rtol·|b| elementwise. */
    static void assertClose(float[] expected, float[] actual, double rtol, double atol) {
        assertEquals(expected.length, actual.length, "length");
        for (int i = 0; i < expected.length; i++) {
            double tol = atol + rtol * Math.abs(expected[i]);
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                fail("element " + i + ": expected " + expected[i] + ", got " + actual[i] + " (tolerance " + tol + ")");
            }
        }
    }
}
