package org.ovseg.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The COCO panoptic API's matching rules on hand-made maps (one row of pixels each, so every
 * count can be checked by eye), and its PQ/SQ/RQ averages.
 */
class PanopticImageTest {
    private static final Set<Integer> CATS = Set.of(1, 2, 3);

    private static int[] row(String s) {
        // one character per pixel: '.' = id 0, a digit = that id
        return s.chars().map(ch -> ch == '.' ? 0 : ch - '0').toArray();
    }

    private static PanopticSegment gt(int id, int cat, boolean crowd, String map) {
        long area = java.util.Arrays.stream(row(map)).filter(v -> v == id).count();
        return new PanopticSegment(id, cat, crowd, area);
    }

    /** A prediction over void: the void part is left out of the union. 6 on gt 1 (area 6) plus 2 on void -> IoU 6/6 = 1, not 6/8. */
    @Test
    void voidPixelsOfAPredictionAreNotInTheUnion() {
        String g = "..111111";
        String p = "55555555";
        PanopticImage im = PanopticImage.of(row(g), List.of(gt(1, 1, false, g)), row(p), List.of(new PanopticSegment(5, 1, false, 8)), CATS);
        assertEquals(1, im.matches().size());
        assertEquals(6, im.matches().get(0).intersection());
        assertEquals(6, im.matches().get(0).union());
        assertTrue(im.falsePositives().isEmpty() && im.falseNegatives().isEmpty());
    }

    /** IoU must exceed 0.5: exactly one half is not a match (one FP, one FN). */
    @Test
    void iouOfExactlyOneHalfIsNoMatch() {
        String g = "1111....";
        String p = "55555555";
        // gt 1 area 4; pred area 8, 4 of them on void -> union 8 + 4 - 4 - 4 = 4 -> IoU 1, a match
        PanopticImage onVoid = PanopticImage.of(row(g), List.of(gt(1, 1, false, g)), row(p), List.of(new PanopticSegment(5, 1, false, 8)), CATS);
        assertEquals(1, onVoid.matches().size());
        String g2 = "11112222";
        PanopticImage half = PanopticImage.of(row(g2), List.of(gt(1, 1, false, g2), gt(2, 2, false, g2)), row(p),
                List.of(new PanopticSegment(5, 1, false, 8)), CATS);
        // gt 1 (cat 1) vs pred 5 (cat 1): I 4, U 8 + 4 - 4 = 8 -> 0.5, no match
        assertTrue(half.matches().isEmpty());
        assertEquals(Map.of(1, 1), half.falsePositives());
        assertEquals(Map.of(1, 1, 2, 1), half.falseNegatives());
    }

    /** Crowd regions: never matched, never FN; an unmatched prediction mostly on its category's crowd (or void) is no FP. */
    @Test
    void crowdAndVoidExcuseUnmatchedPredictions() {
        String g = "3333.....222";
        // id 3: crowd of category 1; id 2: category 2
        List<PanopticSegment> gts = List.of(gt(3, 1, true, g), gt(2, 2, false, g));
        String p = "6667777.8899";
        List<PanopticSegment> preds = List.of(
                new PanopticSegment(6, 1, false, 3), // all on the crowd of its category: not FP
                new PanopticSegment(7, 2, false, 4), // 1 on crowd (other category) + 3 void: 3/4 > 0.5 -> not FP
                new PanopticSegment(8, 3, false, 2), // 1 void of 2: exactly 0.5 -> FP
                new PanopticSegment(9, 2, false, 2)); // 2 on gt 2 (area 3): I 2, U 2 + 3 - 2 = 3 -> 0.667 match
        PanopticImage im = PanopticImage.of(row(g), gts, row(p), preds, CATS);
        assertEquals(1, im.matches().size());
        assertEquals(new PanopticImage.Match(2, 2, 3), im.matches().get(0));
        assertEquals(Map.of(3, 1), im.falsePositives());
        assertTrue(im.falseNegatives().isEmpty());
        String p2 = "777.........";
        // category 2 on the crowd of category 1 only: no excuse -> FP; gt 2 now unmatched -> FN
        PanopticImage other = PanopticImage.of(row(g), gts, row(p2), List.of(new PanopticSegment(7, 2, false, 3)), CATS);
        assertEquals(Map.of(2, 1), other.falsePositives());
        assertEquals(Map.of(2, 1), other.falseNegatives());
    }

    /** A category mismatch never matches; a prediction id missing from the segments or an unknown category is an error. */
    @Test
    void mismatchesAndMalformedPredictions() {
        String g = "1111";
        PanopticImage im = PanopticImage.of(row(g), List.of(gt(1, 1, false, g)), row("5555"), List.of(new PanopticSegment(5, 2, false, 4)), CATS);
        assertEquals(Map.of(2, 1), im.falsePositives());
        assertEquals(Map.of(1, 1), im.falseNegatives());
        assertThrows(IllegalArgumentException.class,
                () -> PanopticImage.of(row(g), List.of(gt(1, 1, false, g)), row("5566"), List.of(new PanopticSegment(5, 1, false, 2)), CATS));
        assertThrows(IllegalArgumentException.class,
                () -> PanopticImage.of(row(g), List.of(gt(1, 1, false, g)), row("5555"), List.of(new PanopticSegment(5, 9, false, 4)), CATS));
    }

    /** PQ = ΣIoU/(TP + FP/2 + FN/2), SQ = ΣIoU/TP, RQ = TP/(TP + FP/2 + FN/2); categories without any count are left out. */
    @Test
    void qualityAveragesHandComputed() {
        List<PanopticCategory> cats = List.of(new PanopticCategory(1, "a", true), new PanopticCategory(2, "b", false),
                new PanopticCategory(3, "c", true), new PanopticCategory(4, "d", false));
        PanopticQuality q = new PanopticQuality(cats);
        q.add(new PanopticImage(List.of(new PanopticImage.Match(1, 3, 4), new PanopticImage.Match(2, 9, 10)), Map.of(1, 1), Map.of(1, 2)));
        q.add(new PanopticImage(List.of(new PanopticImage.Match(1, 1, 1)), Map.of(3, 2), Map.of()));
        PanopticQuality.Result r = q.result();
        // a: tp 2, iou 0.75 + 1, fp 1, fn 2 -> PQ 1.75 / 3.5 = 0.5, SQ 0.875, RQ 2 / 3.5
        // b: tp 1, iou 0.9 -> PQ 0.9, SQ 0.9, RQ 1; c: fp 2 -> PQ 0, SQ 0, RQ 0; d: nothing -> left out
        assertEquals(0.5, r.perCategory().get(0).pq(), 1e-15);
        assertEquals(0.875, r.perCategory().get(0).sq(), 1e-15);
        assertEquals(2 / 3.5, r.perCategory().get(0).rq(), 1e-15);
        assertEquals(3, r.all().n());
        assertEquals((0.5 + 0.9 + 0) / 3, r.all().pq(), 1e-15);
        assertEquals((0.875 + 0.9 + 0) / 3, r.all().sq(), 1e-15);
        assertEquals((2 / 3.5 + 1 + 0) / 3, r.all().rq(), 1e-15);
        assertEquals(2, r.things().n());
        assertEquals(0.25, r.things().pq(), 1e-15);
        assertEquals(1, r.stuff().n());
        assertEquals(0.9, r.stuff().pq(), 1e-15);
        assertTrue(!r.perCategory().get(3).counted());
    }
}
