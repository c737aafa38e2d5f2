package org.ovseg.pipeline.common;

/**
 * Bicubic resampling with PyTorch's semantics ({@code F.interpolate(mode="bicubic",
 * align_corners=False)}): source coordinate (i + 0.5)·(in/out) − 0.5 (not clamped), Keys cubic
 * convolution with a = −0.75 over the 4×4 neighbourhood, neighbour indices clamped to the
 * border. Used for ViT positional embeddings, which MaskCLIP resizes this way for every input
 * size.
 */
public final class Bicubic {
    private static final double A = -0.75;

    private Bicubic() {}

    private static double near(double x) { // |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    }

    private static double far(double x) { // 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }

    /** Per output index: the first of four source indices (unclamped) and the four weights. */
    private static void taps(int in, int out, int[] base, double[][] w) {
        double scale = (double) in / out;
        for (int i = 0; i < out; i++) {
            double real = (i + 0.5) * scale - 0.5;
            int f = (int) Math.floor(real);
            double t = real - f;
            base[i] = f - 1;
            w[i] = new double[] {far(t + 1), near(t), near(1 - t), far(2 - t)};
        }
    }

    /**
     * Resizes a channels-last grid [inH, inW, C] to [outH, outW, C].
     */
    public static float[] resizeChannelsLast(float[] src, int inH, int inW, int C, int outH, int outW) {
        if (inH == outH && inW == outW) return src.clone();
        int[] bx = new int[outW], by = new int[outH];
        double[][] wx = new double[outW][], wy = new double[outH][];
        taps(inW, outW, bx, wx);
        taps(inH, outH, by, wy);
        float[] out = new float[outH * outW * C];
        double[] acc = new double[C];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                java.util.Arrays.fill(acc, 0);
                for (int i = 0; i < 4; i++) {
                    int sy = Math.min(Math.max(by[y] + i, 0), inH - 1);
                    for (int j = 0; j < 4; j++) {
                        int sx = Math.min(Math.max(bx[x] + j, 0), inW - 1);
                        double w = wy[y][i] * wx[x][j];
                        int s = (sy * inW + sx) * C;
                        for (int c = 0; c < C; c++) acc[c] += w * src[s + c];
                    }
                }
                int o = (y * outW + x) * C;
                for (int c = 0; c < C; c++) out[o + c] = (float) acc[c];
            }
        }
        return out;
    }

    /**
     * A ViT positional embedding [1 + g·g, D] (class position first) for a patch grid of
     * {@code outH × outW}: the class position unchanged, the g×g grid resized bicubically.
     */
    public static float[] vitPositionalEmbedding(float[] pos, int grid, int D, int outH, int outW) {
        if (pos.length != (1 + grid * grid) * D) {
            throw new IllegalArgumentException("positional embedding has " + pos.length + " values, expected (1+" + grid + "²)·" + D);
        }
        float[] g = java.util.Arrays.copyOfRange(pos, D, pos.length);
        float[] r = resizeChannelsLast(g, grid, grid, D, outH, outW);
        float[] out = new float[(1 + outH * outW) * D];
        System.arraycopy(pos, 0, out, 0, D);
        System.arraycopy(r, 0, out, D, r.length);
        return out;
    }
}
