package org.ovseg.image;

/**
 * Bicubic resizing of 8-bit RGB exactly as Pillow's {@code Image.resize(size, BICUBIC)} does it,
 * so that CLIP's own preprocessing (torchvision {@code Resize} on PIL images) is reproduced bit for
 * bit: Keys cubic with a = −0.5, antialiased when shrinking, fixed-point taps, each pass rounded
 * to 8 bits ({@link PilResample} has the details). Checked bit-exact against Pillow on golden
 * images (PilBicubicTest). Stateless.
 */
public final class PilBicubic {
    private PilBicubic() {}

    /**
     * @param rgb interleaved RGB bytes, row-major, width × height
     * @return the resized image, outWidth × outHeight, interleaved RGB
     */
    public static byte[] resize(byte[] rgb, int width, int height, int outWidth, int outHeight) {
        return PilResample.resize(rgb, width, height, outWidth, outHeight, PilResample.Filter.BICUBIC);
    }
}
