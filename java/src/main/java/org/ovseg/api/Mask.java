package org.ovseg.api;

import java.util.BitSet;
import org.ovseg.image.CocoRle;

/** An immutable binary mask over an image, one bit per pixel, row-major. */
public final class Mask {
    private final int width;
    private final int height;
    private final BitSet bits;

    Mask(int width, int height, BitSet bits) {
        this.width = width;
        this.height = height;
        this.bits = (BitSet) bits.clone();
    }

    /** @return mask width */
    public int width() {
        return width;
    }

    /** @return mask height */
    public int height() {
        return height;
    }

    /** @return whether pixel (x, y) is in the mask */
    public boolean contains(int x, int y) {
        if (x < 0 || y < 0 || x >= width || y >= height) throw new IndexOutOfBoundsException("(" + x + ", " + y + ") outside " + width + "x" + height);
        return bits.get(y * width + x);
    }

    /** @return pixels in the mask */
    public long area() {
        return bits.cardinality();
    }

    /** @return a new row-major array, true inside the mask */
    public boolean[] toArray() {
        boolean[] a = new boolean[width * height];
        for (int i = bits.nextSetBit(0); i >= 0; i = bits.nextSetBit(i + 1)) a[i] = true;
        return a;
    }

    /** @return the mask in COCO's compressed run-length encoding (column-major, as pycocotools writes it) */
    public String cocoRle() {
        return CocoRle.encode(toArray(), width, height);
    }
}
