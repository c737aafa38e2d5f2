package org.ovseg.pipeline.odise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Tile positions worked by hand from FeatureExtractorBackbone.slide_forward's formulas. */
class SlideTilingTest {
    private static List<SlideTiling.Tile> tiles(int... yx) {
        List<SlideTiling.Tile> l = new java.util.ArrayList<>();
        for (int i = 0; i < yx.length; i += 2) l.add(new SlideTiling.Tile(yx[i], yx[i + 1]));
        return l;
    }

    @Test
    void exactMultiplesTileWithoutOverlap() {
        SlideTiling t = SlideTiling.of(1024, 1536, 512);
        assertEquals(512, t.crop());
        assertEquals(tiles(0, 0, 0, 512, 0, 1024, 512, 0, 512, 512, 512, 1024), t.tiles());
    }

    @Test
    void lastRowAndColumnAreShiftedBackToTheBorder() {
        // rows: (576−512+511)//512+1 = 2, the second ending at 576 → y = 64; cols: 3, the last at 1088−512.
        SlideTiling t = SlideTiling.of(576, 1088, 512);
        assertEquals(tiles(0, 0, 0, 512, 0, 576, 64, 0, 64, 512, 64, 576), t.tiles());
    }

    @Test
    void aShortSideBelowTheBackboneSizeBecomesTheCrop() {
        SlideTiling t = SlideTiling.of(320, 448, 512);
        assertEquals(320, t.crop());
        assertEquals(tiles(0, 0, 0, 128), t.tiles());
    }

    @Test
    void overlapsAreAveraged() {
        SlideTiling t = SlideTiling.of(64, 128, 64); // tiles at x = 0 and 64: no overlap
        SlideTiling o = SlideTiling.of(64, 96, 64); // tiles at x = 0 and 32: columns 32..63 overlap
        assertEquals(tiles(0, 0, 0, 32), o.tiles());
        SlideTiling.Accumulator a = new SlideTiling.Accumulator(o, 2, 32); // 2×3 cells, crop 2×2 cells
        float[] first = {1, 1, 1, 1, 10, 10, 10, 10}, second = {3, 3, 3, 3, 30, 30, 30, 30};
        a.add(o.tiles().get(0), first, 0, 64);
        a.add(o.tiles().get(1), second, 0, 64);
        // 32/32 = cell offset 1: cells x=0 only first, x=1 both, x=2 only second.
        float[] avg = a.average();
        assertEquals(List.of(1f, 2f, 3f, 1f, 2f, 3f, 10f, 20f, 30f, 10f, 20f, 30f), toList(avg));
        assertEquals(2, t.tiles().size());
        assertThrows(IllegalArgumentException.class, () -> new SlideTiling.Accumulator(o, 1, 64)); // 96 not a multiple of 64
    }

    private static List<Float> toList(float[] a) {
        List<Float> l = new java.util.ArrayList<>();
        for (float f : a) l.add(f);
        return l;
    }
}
