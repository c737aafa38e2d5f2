package org.ovseg.image;

/**
 * An 8-bit sRGB image, interleaved RGB, row-major, upright (EXIF orientation already applied).
 * The pixel array is shared, not copied: treat it as read-only.
 *
 * @param width pixels per row
 * @param height rows
 * @param rgb {@code width * height * 3} bytes
 */
public record RgbImage(int width, int height, byte[] rgb) {
    /** Validates the array length against the size. */
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("rgb holds " + rgb.length + " bytes, a " + width + "x" + height + " image needs " + (long) width * height * 3);
        }
    }

    /** @return channel {@code c} (0 red, 1 green, 2 blue) of pixel (x, y), 0..255 */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xff;
    }
}
