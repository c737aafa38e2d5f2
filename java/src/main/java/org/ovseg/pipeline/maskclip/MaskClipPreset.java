package org.ovseg.pipeline.maskclip;

import java.util.List;
import java.util.Locale;
import org.ovseg.pipeline.common.Normalization;
import org.ovseg.pipeline.common.SizePolicy;

/**
 * MaskCLIP's official test settings per dataset (chongzhou96/MaskCLIP, {@code configs/maskclip/*}
 * over {@code configs/_base_/datasets/*}): every config normalises with ImageNet's mean/std, takes
 * its class embeddings from the 85 MaskCLIP templates, runs whole-image inference
 * ({@code test_cfg=dict(mode='whole')}) and leaves key smoothing and prompt denoising off.
 * Only the rescale differs: img_scale (2048, 512) for VOC and COCO-Stuff, (520, 520) with keep
 * ratio for Pascal Context (the long side becomes 520).
 *
 * @param name preset name
 * @param size rescale policy
 * @param normalization mean/std to use instead of the bundle's
 * @param templates prompt template set name
 * @param window sliding-window side (0: whole image, as in every official config)
 * @param stride sliding-window stride (0 with a whole-image preset)
 */
public record MaskClipPreset(String name, SizePolicy size, Normalization normalization, String templates, int window, int stride) {
    /** The preset names, as {@link #named} accepts them. */
    public static final List<String> NAMES = List.of("voc", "context", "coco-stuff");

    /**
     * @param name voc (Pascal VOC 2012, 20 classes), context (Pascal Context 59) or coco-stuff
     *     (COCO-Stuff 164k, 171 classes); case-insensitive
     * @throws IllegalArgumentException for any other name, listing the known ones
     */
    public static MaskClipPreset named(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        return switch (key) {
            case "voc", "coco-stuff" -> new MaskClipPreset(key, new SizePolicy(512, 2048), Normalization.IMAGENET, "maskclip85", 0, 0);
            case "context" -> new MaskClipPreset(key, SizePolicy.fitWithin(520), Normalization.IMAGENET, "maskclip85", 0, 0);
            default -> throw new IllegalArgumentException("unknown MaskCLIP preset '" + name + "' (" + String.join(", ", NAMES) + ")");
        };
    }
}
