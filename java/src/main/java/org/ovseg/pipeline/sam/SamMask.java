package org.ovseg.pipeline.sam;

/**
 * One automatic mask, at the image's resolution, bit-packed (row-major, bit p of {@code bits[p/64]}).
 *
 * @param width image width
 * @param height image height
 * @param bits the mask, packed
 * @param area number of pixels in the mask
 * @param predictedIou the decoder's IoU prediction for it
 * @param stabilityScore |logits &gt; t + offset| / |logits &gt; t − offset|
 * @param box {x0, y0, x1, y1}, inclusive (segment-anything's XYXY of batched_mask_to_box); zeros when empty
 * @param pointX the prompt's x in image pixels
 * @param pointY the prompt's y in image pixels
 */
public record SamMask(int width, int height, long[] bits, long area, float predictedIou, float stabilityScore, int[] box,
        double pointX, double pointY) {
    /** @return whether pixel (x, y) is in the mask */
    public boolean contains(int x, int y) {
        int p = y * width + x;
        return (bits[p >>> 6] & (1L << (p & 63))) != 0;
    }

    /** @return the mask as a new boolean[height·width], row-major */
    public boolean[] toBooleans() {
        boolean[] m = new boolean[width * height];
        for (int p = 0; p < m.length; p++) m[p] = (bits[p >>> 6] & (1L << (p & 63))) != 0;
        return m;
    }
}
