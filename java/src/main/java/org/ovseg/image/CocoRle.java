package org.ovseg.image;

/**
 * COCO's run-length encoding of binary masks, as the COCO API stores them in JSON results
 * ({@code {"size": [h, w], "counts": "..."}}): runs over the pixels in column-major order,
 * starting with a run of zeros; each count written as the difference from the count two back
 * (from the third on), in 5-bit groups with a continuation bit, offset by 48 into printable
 * characters.
 */
public final class CocoRle {
    private CocoRle() {}

    /**
     * @param mask row-major, true inside
     * @return the compressed counts string
     */
    public static String encode(boolean[] mask, int width, int height) {
        if (mask.length != (long) width * height) throw new IllegalArgumentException("mask has " + mask.length + " pixels, need " + width + "x" + height);
        long[] counts = runs(mask, width, height);
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < counts.length; i++) {
            long x = counts[i];
            if (i > 2) x -= counts[i - 2];
            boolean more = true;
            while (more) {
                long c = x & 0x1f;
                x >>= 5;
                more = (c & 0x10) != 0 ? x != -1 : x != 0;
                if (more) c |= 0x20;
                s.append((char) (c + 48));
            }
        }
        return s.toString();
    }

    /** @return the run lengths in column-major order, the first a (possibly empty) run of zeros */
    static long[] runs(boolean[] mask, int width, int height) {
        long[] buf = new long[16];
        int n = 0;
        boolean current = false;
        long run = 0;
        for (int x = 0; x < width; x++) {
            for (int y = 0; y < height; y++) {
                boolean v = mask[y * width + x];
                if (v != current) {
                    if (n == buf.length) buf = java.util.Arrays.copyOf(buf, n * 2);
                    buf[n++] = run;
                    run = 0;
                    current = v;
                }
                run++;
            }
        }
        if (n == buf.length) buf = java.util.Arrays.copyOf(buf, n + 1);
        buf[n++] = run;
        return java.util.Arrays.copyOf(buf, n);
    }

    /**
     * Decodes a compressed counts string back to a row-major mask (the inverse of {@link #encode}).
     *
     * @throws IllegalArgumentException when the string is malformed or does not cover the size
     */
    public static boolean[] decode(String counts, int width, int height) {
        if (width < 0 || height < 0 || (long) width * height > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("bad RLE mask size " + width + "x" + height);
        }
        java.util.List<Long> cnts = new java.util.ArrayList<>();
        int p = 0;
        while (p < counts.length()) {
            long x = 0;
            int k = 0;
            boolean more = true;
            while (more) {
                if (p >= counts.length()) throw new IllegalArgumentException("truncated RLE counts");
                long c = counts.charAt(p) - 48;
                if (c < 0 || c > 63) throw new IllegalArgumentException(String.format("bad RLE character U+%04X at %d", (int) counts.charAt(p), p));
                x |= (c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0) x |= -1L << (5 * k);
            }
            if (cnts.size() > 2) x += cnts.get(cnts.size() - 2);
            cnts.add(x);
        }
        boolean[] mask = new boolean[width * height];
        long pos = 0;
        boolean v = false;
        for (long c : cnts) {
            // c > total - pos, not pos + c > total: a count near 2^63 would overflow the sum.
            if (c < 0 || c > (long) width * height - pos) throw new IllegalArgumentException("RLE runs overflow a " + width + "x" + height + " mask");
            for (long i = pos; i < pos + c; i++) {
                int x = (int) (i / height), y = (int) (i % height);
                mask[y * width + x] = v;
            }
            pos += c;
            v = !v;
        }
        if (pos != (long) width * height) throw new IllegalArgumentException("RLE runs cover " + pos + " of " + (long) width * height + " pixels");
        return mask;
    }
}
