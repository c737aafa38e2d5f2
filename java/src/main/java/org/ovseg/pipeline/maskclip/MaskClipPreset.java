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
    public static final List<String> NAMES = List.of("voc", "context", "coco-stuff", "sclip-protocol", "clearclip-protocol",
            "proxyclip-protocol");

    /**
     * @param name voc (Pascal VOC 2012, 20 classes), context (Pascal Context 59) or coco-stuff
     *     (COCO-Stuff 164k, 171 classes), or the successors' protocols sclip-protocol (also
     *     NACLIP's), clearclip-protocol, proxyclip-protocol; case-insensitive
     * @throws IllegalArgumentException for any other name, listing the known ones
     */
    public static MaskClipPreset named(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        return switch (key) {
            case "voc", "coco-stuff" -> new MaskClipPreset(key, new SizePolicy(512, 2048), Normalization.IMAGENET, "maskclip85", 0, 0);
            case "context" -> new MaskClipPreset(key, SizePolicy.fitWithin(520), Normalization.IMAGENET, "maskclip85", 0, 0);
            // The training-free successors' test settings (FAMILY.md): CLIP's mean/std and its 80
            // ImageNet templates, Resize scale=(2048, S) keep-ratio, slide inference.
            // SCLIP and NACLIP (their configs and __init__ defaults): S 336, crop 224, stride 112.
            case "sclip-protocol" -> new MaskClipPreset(key, new SizePolicy(336, 2048), Normalization.CLIP, "imagenet80", 224, 112);
            // ClearCLIP: S 448, slide_crop 448, slide_stride 224.
            case "clearclip-protocol" -> new MaskClipPreset(key, new SizePolicy(448, 2048), Normalization.CLIP, "imagenet80", 448, 224);
            // ProxyCLIP: S 336, slide_crop 336, slide_stride 112.
            case "proxyclip-protocol" -> new MaskClipPreset(key, new SizePolicy(336, 2048), Normalization.CLIP, "imagenet80", 336, 112);
            default -> throw new IllegalArgumentException("unknown MaskCLIP preset '" + name + "' (" + String.join(", ", NAMES) + ")");
        };
    }
}
