package org.ovseg.image;

/**
 * Label colours for overlays: the PASCAL VOC bit-interleaved palette shifted by one, so label
 * 0 is a visible colour (VOC's index 0 is black background). Deterministic for any label count.
 */
public final class Palette {
    private Palette() {}

    /** @return 0xRRGGBB colour of label {@code i} (0-based) */
    public static int colour(int i) {
        int c = i + 1, r = 0, g = 0, b = 0;
        for (int bit = 7; c != 0 && bit >= 0; bit--, c >>= 3) {
            r |= (c & 1) << bit;
            g |= ((c >> 1) & 1) << bit;
            b |= ((c >> 2) & 1) << bit;
        }
        return (r << 16) | (g << 8) | b;
    }
}
