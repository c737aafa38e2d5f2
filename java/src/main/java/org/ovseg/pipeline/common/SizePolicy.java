package org.ovseg.pipeline.common;

/**
 * How an input image is rescaled before the encoder, as mmcv's {@code imrescale} with
 * {@code keep_ratio=True}: scale s = min(longMax / long side, shortTarget / short side), new size
 * round-half-up(side · s). MaskCLIP's VOC and COCO-Stuff configs use (2048, 512): short side 512
 * unless the long side would pass 2048. Its Pascal Context configs use (520, 520), i.e.
 * {@link #fitWithin(int)}: the long side becomes 520.
 *
 * @param shortSide target short side
 * @param longSideMax cap on the long side
 */
public record SizePolicy(int shortSide, int longSideMax) {
    /** Validates. */
    public SizePolicy {
        if (shortSide < 16 || shortSide > 8192) throw new IllegalArgumentException("size must be between 16 and 8192, got " + shortSide);
        if (longSideMax < shortSide) throw new IllegalArgumentException("long-side cap " + longSideMax + " is below the short side " + shortSide);
    }

    /** Short side {@code size}, long side capped at 4·size (MaskCLIP's 512 / 2048 ratio). */
    public static SizePolicy shortSide(int size) {
        return new SizePolicy(size, 4 * size);
    }

    /**
     * Keep-ratio fit inside a {@code side}×{@code side} square (mmcv img_scale (side, side)): the long
     * side becomes {@code side}, whatever the short side.
     */
    public static SizePolicy fitWithin(int side) {
        return new SizePolicy(side, side);
    }

    /** @return {width, height} after rescaling */
    public int[] apply(int width, int height) {
        double s = Math.min((double) longSideMax / Math.max(width, height), (double) shortSide / Math.min(width, height));
        return new int[] {Math.max(1, (int) (width * s + 0.5)), Math.max(1, (int) (height * s + 0.5))};
    }
}
