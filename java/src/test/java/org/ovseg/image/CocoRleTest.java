package org.ovseg.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * COCO RLE strings against pycocotools 2.0 ({@code mask.encode(np.asfortranarray(m))['counts']}),
 * computed once with the package from the local index; the masks are written out here so the
 * strings can be regenerated (see the comments).
 */
class CocoRleTest {
    private static boolean[] rows(String... rows) {
        int w = rows[0].length();
        boolean[] m = new boolean[rows.length * w];
        for (int y = 0; y < rows.length; y++) for (int x = 0; x < w; x++) m[y * w + x] = rows[y].charAt(x) == '1';
        return m;
    }

    @Test
    void matchesPycocotools() {
        // np.array([[0,1,1,0],[0,1,0,0],[1,1,1,1]])
        assertEquals("251L10", CocoRle.encode(rows("0110", "0100", "1111"), 4, 3));
        // np.zeros((5, 7)): a single run of zeros
        assertEquals("S1", CocoRle.encode(new boolean[35], 7, 5));
        // np.ones((2, 3)): an empty run of zeros first
        assertEquals("06", CocoRle.encode(rows("111", "111"), 3, 2));
        // 300x400 zeros, columns 100..379 ones except (row 150, col 200): long runs and deltas
        boolean[] big = new boolean[300 * 400];
        for (int y = 0; y < 300; y++) for (int x = 100; x < 380; x++) big[y * 400 + x] = true;
        big[150 * 400 + 200] = false;
        assertEquals("`Ym0V^m01cTg0_k5", CocoRle.encode(big, 400, 300));
    }

    @Test
    void decodeInvertsEncodeOnRandomMasks() {
        SplittableRandom r = new SplittableRandom(3);
        for (int t = 0; t < 200; t++) {
            int w = 1 + r.nextInt(70), h = 1 + r.nextInt(70);
            double p = r.nextDouble();
            boolean[] m = new boolean[w * h];
            for (int i = 0; i < m.length; i++) m[i] = r.nextDouble() < p;
            assertArrayEquals(m, CocoRle.decode(CocoRle.encode(m, w, h), w, h), w + "x" + h);
        }
    }

    @Test
    void malformedStringsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> CocoRle.decode("S1", 7, 4)); // covers 35 of 28 pixels
        assertThrows(IllegalArgumentException.class, () -> CocoRle.decode("0", 2, 2)); // covers none of 4
        assertThrows(IllegalArgumentException.class, () -> CocoRle.decode("~~", 2, 2)); // not in the alphabet
    }

    /** Writes counts as given (no differencing) in COCO's 5-bit groups, the way encode does. */
    private static String rawCounts(long... xs) {
        StringBuilder s = new StringBuilder();
        for (long x : xs) {
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

    @Test
    void hugeCountsDoNotOverflowThePosition() {
        // Found by fuzzing: after a count of 1, a count of Long.MAX_VALUE wrapped pos + count negative, passed the
        // bounds check, and the next run wrote at a negative index (ArrayIndexOutOfBounds).
        String counts = rawCounts(1, Long.MAX_VALUE, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CocoRle.decode(counts, 2, 2));
        assertEquals("RLE runs overflow a 2x2 mask", e.getMessage());
    }

    @Test
    void badCharactersAndSizesGiveOneLineErrors() {
        // Found by fuzzing: the offending character was echoed raw, a newline included.
        assertEquals("bad RLE character U+000A at 1", assertThrows(IllegalArgumentException.class, () -> CocoRle.decode("1\n", 2, 2)).getMessage());
        assertEquals("bad RLE mask size -1x4", assertThrows(IllegalArgumentException.class, () -> CocoRle.decode("", -1, 4)).getMessage());
        assertEquals("bad RLE mask size 65536x65536", assertThrows(IllegalArgumentException.class, () -> CocoRle.decode("", 65536, 65536)).getMessage());
    }
}
