package org.ovseg.pipeline.common;

/**
 * Bilinear resampling with half-pixel centres and no antialiasing — the semantics of PyTorch's
 * {@code F.interpolate(mode="bilinear", align_corners=False)}: a destination index i samples the
 * source at (i + 0.5)·(in/out) − 0.5, clamped below at 0, between floor and floor+1 (the upper
 * neighbour clamped to the last row or column).
 */
public final class Resampling {
    private Resampling() {}

    /** Precomputed taps for one axis: lower index, upper index and upper weight per output. */
    record Taps(int[] lo, int[] hi, float[] w) {
        static Taps of(int in, int out) {
            int[] lo = new int[out], hi = new int[out];
            float[] w = new float[out];
            double scale = (double) in / out;
            for (int i = 0; i < out; i++) {
                double src = Math.max(0.0, (i + 0.5) * scale - 0.5);
                int l = Math.min((int) Math.floor(src), in - 1);
                lo[i] = l;
                hi[i] = Math.min(l + 1, in - 1);
                w[i] = (float) (src - l);
            }
            return new Taps(lo, hi, w);
        }
    }

    /**
     * Resizes an interleaved 8-bit RGB image to {@code outW × outH} and normalises it into a
     * planar [3, outH, outW] float array: (v/255 − mean[c]) / std[c].
     */
    public static float[] resizeNormalize(byte[] rgb, int inW, int inH, int outW, int outH, float[] mean, float[] std) {
        Taps tx = Taps.of(inW, outW), ty = Taps.of(inH, outH);
        float[] out = new float[3 * outH * outW];
        float[] rowLo = new float[3 * outW], rowHi = new float[3 * outW];
        int cachedLo = -1, cachedHi = -1;
        for (int y = 0; y < outH; y++) {
            int yl = ty.lo[y], yh = ty.hi[y];
            if (yl != cachedLo) {
                if (yl == cachedHi) {
                    float[] t = rowLo;
                    rowLo = rowHi;
                    rowHi = t;
                } else {
                    horizontal(rgb, inW, yl, tx, rowLo);
                }
                cachedLo = yl;
                cachedHi = -1;
            }
            if (yh != cachedHi) {
                horizontal(rgb, inW, yh, tx, rowHi);
                cachedHi = yh;
            }
            float wy = ty.w[y];
            for (int c = 0; c < 3; c++) {
                float scale = 1f / (255f * std[c]), shift = mean[c] / std[c];
                int base = (c * outH + y) * outW;
                for (int x = 0; x < outW; x++) {
                    float v = rowLo[3 * x + c] + wy * (rowHi[3 * x + c] - rowLo[3 * x + c]);
                    out[base + x] = v * scale - shift;
                }
            }
        }
        return out;
    }

    private static void horizontal(byte[] rgb, int inW, int y, Taps tx, float[] dst) {
        int row = y * inW * 3;
        for (int x = 0; x < tx.lo.length; x++) {
            int a = row + 3 * tx.lo[x], b = row + 3 * tx.hi[x];
            float w = tx.w[x];
            for (int c = 0; c < 3; c++) {
                float va = rgb[a + c] & 0xff, vb = rgb[b + c] & 0xff;
                dst[3 * x + c] = va + w * (vb - va);
            }
        }
    }

    /**
     * Bilinearly upsamples K planar maps [K, inH, inW] to [K, outH, outW] (same semantics).
     */
    public static float[] resizePlanes(float[] src, int K, int inW, int inH, int outW, int outH) {
        float[] out = new float[K * outH * outW];
        Taps tx = Taps.of(inW, outW), ty = Taps.of(inH, outH);
        float[] row = new float[inW];
        for (int k = 0; k < K; k++) {
            int plane = k * inH * inW;
            for (int y = 0; y < outH; y++) {
                int a = plane + ty.lo[y] * inW, b = plane + ty.hi[y] * inW;
                float wy = ty.w[y];
                for (int x = 0; x < inW; x++) row[x] = src[a + x] + wy * (src[b + x] - src[a + x]);
                int o = (k * outH + y) * outW;
                for (int x = 0; x < outW; x++) {
                    float l = row[tx.lo[x]];
                    out[o + x] = l + tx.w[x] * (row[tx.hi[x]] - l);
                }
            }
        }
        return out;
    }

    /**
     * Upsamples K maps [K, inH, inW] to outH × outW and takes the per-pixel argmax (first maximum)
     * without materialising the upsampled maps: labels[outH·outW], scores[outH·outW].
     */
    public static void upsampleArgmax(float[] src, int K, int inW, int inH, int outW, int outH, int[] labels, float[] scores) {
        Taps tx = Taps.of(inW, outW), ty = Taps.of(inH, outH);
        float[] rows = new float[K * inW];
        for (int y = 0; y < outH; y++) {
            int yl = ty.lo[y], yh = ty.hi[y];
            float wy = ty.w[y];
            for (int k = 0; k < K; k++) {
                int a = (k * inH + yl) * inW, b = (k * inH + yh) * inW;
                for (int x = 0; x < inW; x++) rows[k * inW + x] = src[a + x] + wy * (src[b + x] - src[a + x]);
            }
            for (int x = 0; x < outW; x++) {
                int xl = tx.lo[x], xh = tx.hi[x];
                float wx = tx.w[x];
                int best = -1;
                float bestV = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < K; k++) {
                    float l = rows[k * inW + xl];
                    float v = l + wx * (rows[k * inW + xh] - l);
                    if (best < 0 || v > bestV) {
                        best = k;
                        bestV = v;
                    }
                }
                labels[y * outW + x] = best;
                scores[y * outW + x] = bestV;
            }
        }
    }

    /**
     * Two bilinear resizes in a row — K maps [K, inH, inW] to (midW, midH), then to (outW, outH)
     * — followed by the per-pixel argmax, streaming: only two intermediate rows are held, never
     * the [K, midH, midW] maps. MaskCLIP resizes its logits to the rescaled input size and then
     * to the original image size; this gives the same numbers with O(K·midW) memory.
     *
     * @param full when not null, receives the final maps [K, outH, outW] as well
     */
    public static void upsampleTwiceArgmax(float[] src, int K, int inW, int inH, int midW, int midH, int outW, int outH,
            int[] labels, float[] scores, float[] full) {
        Taps ax = Taps.of(inW, midW), ay = Taps.of(inH, midH);
        Taps bx = Taps.of(midW, outW), by = Taps.of(midH, outH);
        float[] lo = new float[K * midW], hi = new float[K * midW], tmp = new float[inW], blend = new float[K * midW];
        int loRow = -1, hiRow = -1;
        for (int y = 0; y < outH; y++) {
            int ml = by.lo[y], mh = by.hi[y];
            if (ml != loRow) {
                if (ml == hiRow) {
                    float[] t = lo;
                    lo = hi;
                    hi = t;
                    hiRow = -1;
                } else {
                    midRow(src, K, inW, inH, ml, ax, ay, tmp, lo);
                }
                loRow = ml;
            }
            if (mh != hiRow) {
                if (mh == loRow) System.arraycopy(lo, 0, hi, 0, lo.length);
                else midRow(src, K, inW, inH, mh, ax, ay, tmp, hi);
                hiRow = mh;
            }
            float wy = by.w[y];
            for (int i = 0; i < blend.length; i++) blend[i] = lo[i] + wy * (hi[i] - lo[i]);
            for (int x = 0; x < outW; x++) {
                int xl = bx.lo[x], xh = bx.hi[x];
                float wx = bx.w[x];
                int best = -1;
                float bestV = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < K; k++) {
                    float l = blend[k * midW + xl];
                    float v = l + wx * (blend[k * midW + xh] - l);
                    if (full != null) full[(k * outH + y) * outW + x] = v;
                    if (best < 0 || v > bestV) {
                        best = k;
                        bestV = v;
                    }
                }
                labels[y * outW + x] = best;
                scores[y * outW + x] = bestV;
            }
        }
    }

    /** Row {@code r} of the first resize, for every map: [K, midW]. */
    private static void midRow(float[] src, int K, int inW, int inH, int r, Taps ax, Taps ay, float[] tmp, float[] dst) {
        int midW = ax.lo.length;
        float wy = ay.w[r];
        for (int k = 0; k < K; k++) {
            int a = (k * inH + ay.lo[r]) * inW, b = (k * inH + ay.hi[r]) * inW;
            for (int x = 0; x < inW; x++) tmp[x] = src[a + x] + wy * (src[b + x] - src[a + x]);
            int o = k * midW;
            for (int x = 0; x < midW; x++) {
                float l = tmp[ax.lo[x]];
                dst[o + x] = l + ax.w[x] * (tmp[ax.hi[x]] - l);
            }
        }
    }
}
