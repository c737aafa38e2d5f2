package org.ovseg.pipeline.car;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.DenseCrf;

/**
 * The post-CRF mask refinement hook (CaR's SAM merge): it sees one mask per surviving query after
 * the CRF, runs its preparation once per recurrence (timed as "sam"), and its masks are what gets
 * painted — here a refiner that replaces "red"'s left half by SamMerge with a "SAM" mask covering
 * the left half minus its top row.
 */
class CarLoopMaskRefinerTest {
    @Test
    void refinedMasksArePainted() {
        CarLoopTest t = new CarLoopTest();
        int W = CarLoopTest.W, H = CarLoopTest.H;
        boolean[] samLeft = new boolean[W * H];
        for (int y = 1; y < H; y++) for (int x = 0; x < W / 2; x++) samLeft[y * W + x] = true;
        List<Integer> prepared = new ArrayList<>();
        List<List<boolean[]>> seen = new ArrayList<>();
        CarLoop loop = new CarLoop(t.proposals, t.classifier, CarSettings.preset("voc"), DenseCrf.Params.CAR);
        loop.setMaskRefiner(new CarLoop.MaskRefiner() {
            @Override
            public void prepare(RgbImage image) {
                prepared.add(1);
            }

            @Override
            public List<boolean[]> refine(RgbImage image, List<boolean[]> masks) {
                seen.add(masks);
                return SamMerge.merge(masks, List.of(samLeft), SamRefiner.IOM_THRESHOLD, SamRefiner.MIN_PRED, SamRefiner.REPLACE_IOU);
            }
        });
        CarLoop.Result r = loop.segment(CarLoopTest.scene(), List.of("green", "red", "yellow", "blue"));
        assertEquals(1, prepared.size());
        assertEquals(1, seen.size());
        assertEquals(2, seen.get(0).size(), "red and blue survive");
        assertTrue(r.timingsMs().containsKey("sam"));
        for (int x = 0; x < W / 2; x++) assertEquals(-1, r.labels()[x], "top row of the left half: not in the SAM mask");
        int red = 0;
        for (int y = 1; y < H; y++) for (int x = 0; x < W / 2; x++) if (r.labels()[y * W + x] == 1) red++;
        assertEquals((H - 1) * (W / 2), red, "the rest of the left half is red");
    }
}
