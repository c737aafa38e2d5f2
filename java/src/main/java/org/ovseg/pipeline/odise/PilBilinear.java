package org.ovseg.pipeline.odise;

/**
 * PIL's {@code Image.resize(..., BILINEAR)} on 8-bit RGB: a triangle filter whose support widens
 * by the scale when shrinking (antialiasing), fixed-point taps and rounding as Pillow's
 * ImagingResample. detectron2's ResizeShortestEdge resizes uint8 images through it, so ODISE's
 * test-time input is this, not torch's bilinear.
 */
final class PilBilinear {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilBilinear() {}

    static byte[] resize(byte[] rgb, int width, int height, int outWidth, int outHeight) {
        byte[] cur = rgb;
        int w = width;
        if (outWidth != width) {
            Coeffs c = coeffs(width, outWidth);
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
            Coeffs c = coeffs(height, outHeight);
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

    private record Coeffs(int ksize, int[] min, int[] count, int[] k) {}

    private static Coeffs coeffs(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filterScale; // the triangle filter's support is 1
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] min = new int[outSize], count = new int[outSize], k = new int[outSize * ksize];
        double[] w = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double inv = 1.0 / filterScale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            double sum = 0;
            for (int x = 0; x < xmax; x++) {
                double t = Math.abs((x + xmin - center + 0.5) * inv);
                w[x] = t < 1.0 ? 1.0 - t : 0.0;
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
