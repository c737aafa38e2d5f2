package org.ovseg.pipeline.odise;

/**
 * Streams the rows of Q mask-logit maps through Mask2Former's two resizes without materialising
 * either: the 1/4-resolution logits are bilinearly upsampled to the padded input size, cropped to
 * the resized image (sem_seg_postprocess), then bilinearly resized to the original image size
 * (both F.interpolate, align_corners=False, no antialiasing). Each output row needs two rows of
 * the padded-size map, which are cached while consecutive rows share them. Arithmetic follows
 * PyTorch's upsample_bilinear2d kernel order ((1−λ)·a + λ·b in float), so values agree to rounding.
 */
final class MaskRows {
    private final float[] logits;
    private final int Q, h4, w4, padH, padW, cropH, cropW, outH, outW;
    private final Axis yPad, xPad, yOut, xOut;
    private float[][] rowA, rowB;
    private int idxA = -1, idxB = -1;

    /** Per-output taps: lower and upper source index and the upper weight. */
    record Axis(int[] lo, int[] hi, float[] lambda) {
        static Axis of(int in, int out) {
            int[] lo = new int[out], hi = new int[out];
            float[] l = new float[out];
            float scale = (float) in / out;
            for (int i = 0; i < out; i++) {
                float src = Math.max(scale * (i + 0.5f) - 0.5f, 0f);
                int i0 = (int) src;
                lo[i] = Math.min(i0, in - 1);
                hi[i] = lo[i] + (lo[i] < in - 1 ? 1 : 0);
                l[i] = src - i0;
            }
            return new Axis(lo, hi, l);
        }
    }

    /**
     * @param logits [Q, h4, w4] mask logits at 1/4 of the padded size
     * @param padH padded input height (the first resize's target)
     * @param cropH resized image height (≤ padH), the part kept
     * @param outH original image height
     */
    MaskRows(float[] logits, int Q, int h4, int w4, int padH, int padW, int cropH, int cropW, int outH, int outW) {
        if (logits.length != Q * h4 * w4) throw new IllegalArgumentException("mask logits hold " + logits.length + " values, need " + Q + "x" + h4 + "x" + w4);
        if (cropH > padH || cropW > padW) throw new IllegalArgumentException("crop larger than the padded map");
        this.logits = logits;
        this.Q = Q;
        this.h4 = h4;
        this.w4 = w4;
        this.padH = padH;
        this.padW = padW;
        this.cropH = cropH;
        this.cropW = cropW;
        this.outH = outH;
        this.outW = outW;
        this.yPad = Axis.of(h4, padH);
        this.xPad = Axis.of(w4, padW);
        this.yOut = Axis.of(cropH, outH);
        this.xOut = Axis.of(cropW, outW);
        this.rowA = new float[Q][cropW];
        this.rowB = new float[Q][cropW];
    }

    /** Another stream over the same (read-only) logits with its own row cache, for another thread. */
    MaskRows copy() {
        return new MaskRows(logits, Q, h4, w4, padH, padW, cropH, cropW, outH, outW);
    }

    /** Writes output row {@code y} of every query into {@code out[q][0..outW)}. */
    void row(int y, float[][] out) {
        int a = yOut.lo[y], b = yOut.hi[y];
        if (idxA != a) {
            if (idxB == a) {
                float[][] t = rowA;
                rowA = rowB;
                rowB = t;
                idxB = -1;
            } else {
                padRows(a, rowA);
            }
            idxA = a;
        }
        if (idxB != b) {
            padRows(b, rowB);
            idxB = b;
        }
        float l1 = yOut.lambda[y], l0 = 1f - l1;
        for (int q = 0; q < Q; q++) {
            float[] ra = rowA[q], rb = rowB[q], o = out[q];
            for (int x = 0; x < outW; x++) {
                int x0 = xOut.lo[x], x1 = xOut.hi[x];
                float w1 = xOut.lambda[x], w0 = 1f - w1;
                o[x] = l0 * (w0 * ra[x0] + w1 * ra[x1]) + l1 * (w0 * rb[x0] + w1 * rb[x1]);
            }
        }
    }

    /** Row r of every query's padded-size map, columns [0, cropW). */
    private void padRows(int r, float[][] dst) {
        int r0 = yPad.lo[r], r1 = yPad.hi[r];
        float l1 = yPad.lambda[r], l0 = 1f - l1;
        for (int q = 0; q < Q; q++) {
            int p0 = (q * h4 + r0) * w4, p1 = (q * h4 + r1) * w4;
            float[] d = dst[q];
            for (int x = 0; x < cropW; x++) {
                int x0 = xPad.lo[x], x1 = xPad.hi[x];
                float w1 = xPad.lambda[x], w0 = 1f - w1;
                d[x] = l0 * (w0 * logits[p0 + x0] + w1 * logits[p0 + x1]) + l1 * (w0 * logits[p1 + x0] + w1 * logits[p1 + x1]);
            }
        }
    }
}
