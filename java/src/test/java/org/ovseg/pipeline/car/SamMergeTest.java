package org.ovseg.pipeline.car;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The merge rule on hand-made 1-D masks (20 pixels), with the numbers worked out in comments. */
class SamMergeTest {
    static boolean[] range(int from, int to) {
        boolean[] m = new boolean[20];
        for (int i = from; i < to; i++) m[i] = true;
        return m;
    }

    static boolean[] span(int n, int from, int to) {
        boolean[] m = new boolean[n];
        for (int i = from; i < to; i++) m[i] = true;
        return m;
    }

    @Test
    void presetIomThresholdsDecideTheMerge() {
        // CaR mask [0,40). s1 = [0,37): iom_sam 1, alone IoU 37/40 = 0.925. s2 = [33,43): 7 of its 10
        // pixels inside, iom = max(7/40, 0.7) = 0.7: above voc's 0.6 and context's 0.5 (union [0,43),
        // IoU 40/43 = 0.93), not above coco-object's 0.7 (strict), which keeps s1 alone.
        boolean[] car = span(50, 0, 40), s1 = span(50, 0, 37), s2 = span(50, 33, 43);
        for (String preset : List.of("voc", "context", "coco-object")) {
            CarSettings.SamThresholds t = CarSettings.samThresholds(preset);
            boolean[] out = SamMerge.merge(List.of(car), List.of(s1, s2), t.iom(), t.minPred(), SamRefiner.REPLACE_IOU).get(0);
            assertArrayEquals(preset.equals("coco-object") ? s1 : span(50, 0, 43), out, preset);
        }
    }

    @Test
    void unionOfOverlappingSamMasksReplacesACloseMask() {
        boolean[] car = range(0, 10);                 // 10 px
        boolean[] a = range(0, 6), b = range(6, 11);  // iom a = max(0.6, 1.0), b = max(0.4, 0.8); union 0..10, IoU 10/11
        boolean[] far = range(15, 20);                // no overlap: iom 0
        List<boolean[]> out = SamMerge.merge(List.of(car), List.of(a, b, far), 0.5, 0.05, 0.9);
        assertArrayEquals(range(0, 11), out.get(0));
    }

    @Test
    void keepsTheMaskWhenTheUnionDisagrees() {
        boolean[] car = range(0, 10);
        boolean[] big = range(0, 20); // iom_pred 1.0; union = everything, IoU 0.5 < 0.9
        assertSame(car, SamMerge.merge(List.of(car), List.of(big), 0.5, 0.05, 0.9).get(0));
    }

    @Test
    void smallOverlapsDoNotCountThroughTheSamSide() {
        // A tiny SAM mask inside the CaR mask has iom_sam = 1, but its iom_pred 0.1 is below
        // minPred 0.2, so only iom_pred counts for it.
        boolean[] car = range(0, 10), tiny = range(0, 1), half = range(0, 5);
        List<boolean[]> out = SamMerge.merge(List.of(car), List.of(tiny, half), 0.6, 0.2, 0.45);
        // half: iom_pred 0.5, iom_sam 1.0 -> 1.0 passes; tiny: iom_pred 0.1 < 0.2 -> iom 0.1. Union = half, IoU 0.5 > 0.45.
        assertArrayEquals(half, out.get(0));
        boolean[] empty = new boolean[20];
        assertSame(empty, SamMerge.merge(List.of(empty), List.of(half), 0.5, 0.05, 0.9).get(0));
    }
}
