package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.ovseg.OvsegException;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --preset} on a MaskCLIP bundle (builtin:colour-world) selects a MaskCLIP preset. Before
 * MaskCLIP had presets, "context" passed the builder as a CaR name and was silently ignored, so the
 * logits were the default's; now the preset's ImageNet mean/std and 85 templates change them.
 * Values themselves are held to the PyTorch reference in tools/ci/parity.sh.
 */
class MaskClipPresetSegmenterTest {
    @TempDir
    static Path cache;

    @Test
    void presetChangesTheRunAndTheLabelsSurvive() {
        Labels labels = Labels.parse("red,blue,green");
        try (Segmenter plain = Segmenter.builder().cacheDir(cache).keepLogits(true).build();
                Segmenter context = Segmenter.builder().cacheDir(cache).preset("context").keepLogits(true).build()) {
            SegmentationResult a = plain.segment(RefinementTest.halves(200, 150), labels);
            SegmentationResult b = context.segment(RefinementTest.halves(200, 150), labels);
            float[] la = a.logits().orElseThrow(), lb = b.logits().orElseThrow();
            assertEquals(la.length, lb.length);
            double maxDiff = 0;
            for (int i = 0; i < la.length; i++) maxDiff = Math.max(maxDiff, Math.abs(la[i] - lb[i]));
            assertTrue(maxDiff > 1e-3, "the preset must change normalisation/templates; max logit change " + maxDiff);
            assertEquals(0, b.labelAt(20, 75));
            assertEquals(1, b.labelAt(180, 75));
        }
    }

    @Test
    void unknownPresetsAreRefusedNamingThePipelinesOwn() {
        OvsegException e = assertThrows(OvsegException.class, () -> Segmenter.builder().cacheDir(cache).preset("nope").build().close());
        assertEquals("unknown preset 'nope' for the 'maskclip' pipeline (known: clearclip-protocol, coco-stuff, context, proxyclip-protocol, sclip-protocol, voc)", e.getMessage());
        // a CaR-only name on a MaskCLIP bundle
        OvsegException ade = assertThrows(OvsegException.class, () -> Segmenter.builder().cacheDir(cache).preset("ade").build().close());
        assertTrue(ade.getMessage().startsWith("unknown preset 'ade' for the 'maskclip' pipeline"), ade.getMessage());
    }
}
