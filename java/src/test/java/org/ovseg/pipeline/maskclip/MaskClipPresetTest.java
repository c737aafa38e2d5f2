package org.ovseg.pipeline.maskclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.ovseg.pipeline.common.Normalization;
import org.ovseg.pipeline.common.SizePolicy;
import org.ovseg.text.PromptTemplates;

/**
 * The presets against the official MaskCLIP configs' numbers, written out by hand here:
 * img_norm_cfg mean (123.675, 116.28, 103.53) / std (58.395, 57.12, 57.375) on the 0..255 scale,
 * img_scale (2048, 512) for VOC and COCO-Stuff and (520, 520) for Pascal Context with keep_ratio,
 * test_cfg mode 'whole', the 85 prompt templates of tools/maskclip_utils/prompt_engineering.py.
 */
class MaskClipPresetTest {
    @Test
    void officialNumbers() {
        for (String name : java.util.List.of("voc", "context", "coco-stuff")) {
            MaskClipPreset p = MaskClipPreset.named(name);
            assertEquals(name, p.name());
            float[] mean = p.normalization().mean(), std = p.normalization().std();
            float[] mean255 = {123.675f, 116.28f, 103.53f}, std255 = {58.395f, 57.12f, 57.375f};
            for (int c = 0; c < 3; c++) {
                assertEquals(mean255[c] / 255f, mean[c], 1e-6f, name + " mean " + c);
                assertEquals(std255[c] / 255f, std[c], 1e-6f, name + " std " + c);
            }
            assertEquals(85, PromptTemplates.named(p.templates()).templates().size(), name);
            assertEquals(0, p.window(), name + ": the official test_cfg is whole-image");
        }
        // mmcv imrescale by hand: 500x375 with (2048, 512): s = min(2048/500, 512/375) = 1.3653 -> 683x512;
        // with (520, 520): s = min(520/500, 520/375) = 1.04 -> 520x390.
        assertArrayEquals(new int[] {683, 512}, MaskClipPreset.named("voc").size().apply(500, 375));
        assertArrayEquals(new int[] {683, 512}, MaskClipPreset.named("coco-stuff").size().apply(500, 375));
        assertArrayEquals(new int[] {520, 390}, MaskClipPreset.named("context").size().apply(500, 375));
        assertArrayEquals(new int[] {390, 520}, MaskClipPreset.named("context").size().apply(375, 500));
        // the long side wins even for a thin image (short side ends far below 520)
        assertArrayEquals(new int[] {520, 52}, MaskClipPreset.named("context").size().apply(1000, 100));
        assertEquals(SizePolicy.fitWithin(520), MaskClipPreset.named("Context").size());
    }

    /**
     * The successors' protocols against their configs, by hand: SegDataPreProcessor mean
     * (122.771, 116.746, 104.094) / std (68.501, 66.632, 70.323), Resize scale (2048, S)
     * keep_ratio, slide crop/stride: SCLIP and NACLIP 336 / 224 / 112, ClearCLIP 448 / 448 / 224,
     * ProxyCLIP 336 / 336 / 112; openai_imagenet_template (80 templates).
     */
    @Test
    void successorProtocols() {
        int[][] want = {{336, 224, 112}, {448, 448, 224}, {336, 336, 112}};
        String[] names = {"sclip-protocol", "clearclip-protocol", "proxyclip-protocol"};
        float[] mean255 = {122.771f, 116.746f, 104.094f}, std255 = {68.501f, 66.632f, 70.323f};
        for (int i = 0; i < names.length; i++) {
            MaskClipPreset p = MaskClipPreset.named(names[i]);
            assertEquals(want[i][1], p.window(), names[i]);
            assertEquals(want[i][2], p.stride(), names[i]);
            assertEquals(80, PromptTemplates.named(p.templates()).templates().size(), names[i]);
            for (int c = 0; c < 3; c++) {
                assertEquals(mean255[c] / 255f, p.normalization().mean()[c], 1e-5f, names[i] + " mean " + c);
                assertEquals(std255[c] / 255f, p.normalization().std()[c], 1e-5f, names[i] + " std " + c);
            }
            // 500x375 at short side S: (round(500·S/375), S)
            assertArrayEquals(new int[] {Math.round(500f * want[i][0] / 375f), want[i][0]}, p.size().apply(500, 375), names[i]);
        }
    }

    @Test
    void unknownNameIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MaskClipPreset.named("ade"));
        assertTrue(e.getMessage().contains("'ade'") && e.getMessage().contains("voc, context, coco-stuff"), e.getMessage());
    }

    @Test
    void presetSetsSizeNormTemplatesAndKeepsRefinement() {
        MaskClipOptions o = MaskClipOptions.defaults().withRefinement(1f, 0.5f).withKeepLogits(true)
                .withPreset(MaskClipPreset.named("context"));
        assertEquals(SizePolicy.fitWithin(520), o.size());
        assertSame(Normalization.IMAGENET, o.normalization());
        assertEquals("maskclip85", o.templates().name());
        assertEquals(1f, o.keySmoothing());
        assertEquals(0.5f, o.promptDenoising());
        assertTrue(o.keepLogits());
        assertEquals(null, MaskClipOptions.defaults().normalization(), "no preset: the bundle's mean/std");
    }

    /** The ResNet grid rule against the layer arithmetic, step by step (conv: floor((x + 2p - k)/s) + 1). */
    @Test
    void resnetGridFollowsTheLayers() {
        for (int side = 1; side <= 2100; side++) {
            int x = (side + 2 - 3) / 2 + 1; // stem conv1, 3x3, stride 2, padding 1 (conv2, conv3: stride 1, same size)
            x = x / 2; // stem AvgPool2d(2)
            for (int layer = 2; layer <= 4; layer++) x = x / 2; // layer2..4: AvgPool2d(2) in the strided block
            assertEquals(x, MaskClipPipeline.resnetGrid(side), "side " + side);
        }
        assertEquals(16, MaskClipPipeline.resnetGrid(512));
        assertEquals(21, MaskClipPipeline.resnetGrid(683)); // padded to 704 it would be 22
    }
}
