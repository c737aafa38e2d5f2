package org.ovseg.image;

/**
 * Pillow's {@code Image.resize(size, filter)} on 8-bit RGB, bit for bit (libImaging/Resample.c
 * semantics), for the two filters the official pipelines meet: BICUBIC (CLIP's preprocessing,
 * torchvision {@code Resize} on PIL images) and BILINEAR (detectron2's ResizeShortestEdge on
 * uint8 images). When shrinking, the filter is stretched by the scale (antialiasing); weights are
 * normalised per output pixel and rounded to 22-bit fixed point (half away from zero); a
 * horizontal pass, then a vertical one, each rounded to 8 bits (add half, shift, clamp to 0..255);
 * a pass whose size does not change is skipped. Checked against Pillow's own output on golden
 * images for both filters (PilBicubicTest). Stateless.
 */
public final class PilResample {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** The resampling filters, with Pillow's supports. */
    public enum Filter {
        /** Triangle filter, support 1. */
        BILINEAR(1.0),
        /** Keys cubic with a = −0.5, support 2. */
        BICUBIC(2.0);

        private final double support;

        Filter(double support) {
            this.support = support;
        }

        double weight(double x) {
            x = Math.abs(x);
            if (this == BILINEAR) return x < 1.0 ? 1.0 - x : 0.0;
            final double a = -0.5;
            if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }
    }

    private PilResample() {}

    /**
     * @param rgb interleaved RGB bytes, row-major, width × height
     * @return the resized image, outWidth × outHeight, interleaved RGB (a new array)
     * @throws IllegalArgumentException for non-positive sizes or a buffer of the wrong length
     */
    public static byte[] resize(byte[] rgb, int width, int height, int outWidth, int outHeight, Filter filter) {
        if (width <= 0 || height <= 0 || outWidth <= 0 || outHeight <= 0) throw new IllegalArgumentException("sizes must be positive");
        if ((long) width * height * 3 != rgb.length) {
            throw new IllegalArgumentException("expected " + (long) width * height * 3 + " bytes, got " + rgb.length);
        }
        byte[] cur = rgb;
        int w = width;
        if (outWidth != width) {
            Coeffs c = coeffs(width, outWidth, filter);
            byte[] out = new byte[outWidth * height * 3];
            for (int y = 0; y < height; y++) {
                int row = y * width * 3;
                for (int xx = 0; xx < outWidth; xx++) {
                    int xmin = c.min[xx], n = c.count[xx], k0 = xx * c.ksize;
                    for (int ch = 0; ch < 3; ch++) {
                        int ss = 1 << (PRECISION_BITS - 1);
                        for (int x = 0; x < n; x++) ss += (cur[row + (x + xmin) * 3 + ch] & 0xff) * c.k[k0 + x];
                        out[(y * outWidth + xx) * 3 + ch] = clip8(ss);
                    }
                }
            }
            cur = out;
            w = outWidth;
        }
        if (outHeight != height) {
            Coeffs c = coeffs(height, outHeight, filter);
            byte[] out = new byte[w * outHeight * 3];
            for (int yy = 0; yy < outHeight; yy++) {
                int ymin = c.min[yy], n = c.count[yy], k0 = yy * c.ksize;
                for (int x = 0; x < w * 3; x++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int y = 0; y < n; y++) ss += (cur[(y + ymin) * w * 3 + x] & 0xff) * c.k[k0 + y];
                    out[yy * w * 3 + x] = clip8(ss);
                }
            }
            cur = out;
        }
        return cur == rgb ? rgb.clone() : cur;
    }

    private static byte clip8(int ss) {
        int v = ss >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Per output index: first input index, tap count, fixed-point taps (ksize per index). */
    private record Coeffs(int ksize, int[] min, int[] count, int[] k) {}

    private static Coeffs coeffs(int inSize, int outSize, Filter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] min = new int[outSize], count = new int[outSize], k = new int[outSize * ksize];
        double[] w = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double inv = 1.0 / filterScale;
            // C's (int) cast truncates toward zero, as Java's does
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            double sum = 0;
            for (int x = 0; x < xmax; x++) {
                w[x] = filter.weight((x + xmin - center + 0.5) * inv);
                sum += w[x];
            }
            for (int x = 0; x < xmax; x++) {
                double v = sum != 0.0 ? w[x] / sum : w[x];
                double f = v * (1 << PRECISION_BITS);
                k[xx * ksize + x] = (int) (v < 0 ? -0.5 + f : 0.5 + f);
            }
            min[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coeffs(ksize, min, count, k);
    }
}
