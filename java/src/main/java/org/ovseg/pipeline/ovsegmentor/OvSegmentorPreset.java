package org.ovseg.pipeline.ovsegmentor;

import java.util.List;
import java.util.Locale;

/**
 * OVSegmentor's official test settings per dataset (Jazzcharles/OVSegmentor,
 * {@code segmentation/configs/_base_/datasets/*}): every config rescales with img_scale (2048, 448),
 * normalises with ImageNet's mean/std, slides a 448 window with stride 224 and uses the single
 * template "a photo of a {}."; only the background threshold differs.
 *
 * <p>ADE20K's config sets bg_thresh 0.95 too, but the official wrapper adds a background class only
 * when the dataset's first class is "background" (with_bg), which ADE20K's is not: the threshold is
 * never applied there, so this preset's is 0 (no pixel falls below it).
 *
 * @param name preset name
 * @param bgThreshold the background threshold (0: no background)
 */
public record OvSegmentorPreset(String name, float bgThreshold) {
    /** The preset names {@link #named} accepts. */
    public static final List<String> NAMES = List.of("voc", "coco", "context", "ade");
    /** The official rescale: short side 448, long side at most 2048. */
    public static final int SIZE = 448, MAX_LONG_SIDE = 2048;
    /** The official sliding window. */
    public static final int WINDOW = 448, STRIDE = 224;

    /**
     * @param name voc (Pascal VOC 2012), coco (COCO-Object), context (Pascal Context) or ade
     *     (ADE20K); case-insensitive
     * @throws IllegalArgumentException for any other name, listing the known ones
     */
    public static OvSegmentorPreset named(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        return switch (key) {
            case "voc" -> new OvSegmentorPreset(key, 0.95f);
            case "coco" -> new OvSegmentorPreset(key, 0.9f);
            case "context" -> new OvSegmentorPreset(key, 0.35f);
            case "ade" -> new OvSegmentorPreset(key, 0f);
            default -> throw new IllegalArgumentException("unknown OVSegmentor preset '" + name + "' (" + String.join(", ", NAMES) + ")");
        };
    }
}
