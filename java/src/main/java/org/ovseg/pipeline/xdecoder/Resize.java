package org.ovseg.pipeline.xdecoder;

/**
 * One-axis resampling matrices ({@code [out, in]}, row-major), so a 2-D resize is {@code Ry · M · Rxᵀ}.
 * X-Decoder resizes its mask logits with PyTorch's {@code F.interpolate(mode="bicubic",
 * antialias=True, align_corners=False)} (inside the decoder for the attention masks, and up to the
 * padded input size afterwards) and then bilinearly to the original size
 * ({@code sem_seg_postprocess}); both are separable and linear.
 */
final class Resize {
    private Resize() {}

    /**
     * PyTorch's antialiased bicubic weights (ATen's {@code _compute_weights_aa}: Keys kernel with
     * a = −0.5, support widened by the scale when downsampling, each row normalised to sum 1).
     */
    static float[] bicubicAntialias(int in, int out) {
        if (in <= 0 || out <= 0) throw new IllegalArgumentException("sizes must be positive: " + in + " -> " + out);
        double scale = (double) in / out;
        double support = scale >= 1.0 ? 2.0 * scale : 2.0;
        double invScale = scale >= 1.0 ? 1.0 / scale : 1.0;
        float[] m = new float[out * in];
        double[] w = new double[(int) Math.ceil(2 * support) + 2];
        for (int i = 0; i < out; i++) {
            double center = scale * (i + 0.5);
            int xmin = Math.max((int) (center - support + 0.5), 0); // truncation, as the C++ cast
            int xsize = Math.min((int) (center + support + 0.5), in) - xmin;
            double total = 0;
            for (int j = 0; j < xsize; j++) {
                w[j] = cubic((j + xmin - center + 0.5) * invScale);
                total += w[j];
            }
            for (int j = 0; j < xsize; j++) m[i * in + xmin + j] = (float) (total != 0 ? w[j] / total : w[j]);
        }
        return m;
    }

    private static double cubic(double x) {
        final double a = -0.5;
        x = Math.abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    /** Bilinear, half-pixel centres, no antialiasing ({@code align_corners=False}). */
    static float[] bilinear(int in, int out) {
        if (in <= 0 || out <= 0) throw new IllegalArgumentException("sizes must be positive: " + in + " -> " + out);
        float[] m = new float[out * in];
        double scale = (double) in / out;
        for (int i = 0; i < out; i++) {
            double src = Math.max(0.0, (i + 0.5) * scale - 0.5);
            int lo = Math.min((int) Math.floor(src), in - 1);
            int hi = Math.min(lo + 1, in - 1);
            double f = src - lo;
            m[i * in + lo] += (float) (1 - f);
            m[i * in + hi] += (float) f;
        }
        return m;
    }

    /** {@code a [r, k] · b [k, c]}. */
    static float[] matmul(float[] a, float[] b, int r, int k, int c) {
        float[] o = new float[r * c];
        for (int i = 0; i < r; i++) {
            for (int t = 0; t < k; t++) {
                float v = a[i * k + t];
                if (v == 0f) continue;
                int bo = t * c, oo = i * c;
                for (int j = 0; j < c; j++) o[oo + j] += v * b[bo + j];
            }
        }
        return o;
    }

    /**
     * The composed map from a mask at the decoder's resolution to the original image along one
     * axis: bicubic-antialias up to the padded size, keep the first {@code valid} samples (the
     * unpadded image), bilinear to {@code original}. {@code [original, in]}.
     */
    static float[] toOriginal(int in, int padded, int valid, int original) {
        float[] up = bicubicAntialias(in, padded);
        float[] crop = new float[valid * in];
        System.arraycopy(up, 0, crop, 0, valid * in);
        return matmul(bilinear(valid, original), crop, original, valid, in);
    }
}
