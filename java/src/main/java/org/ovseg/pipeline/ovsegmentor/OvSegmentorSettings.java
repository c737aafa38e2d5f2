package org.ovseg.pipeline.ovsegmentor;

import org.ovseg.pipeline.common.SizePolicy;
import org.ovseg.text.PromptTemplates;

/**
 * How one OVSegmentor pipeline runs.
 *
 * @param size rescale before the sliding window
 * @param window sliding-window side (0: the whole rescaled image as one crop)
 * @param stride sliding-window stride
 * @param bgThreshold a pixel whose class score stays below min(this, the crop's best group score)
 *     is background (label −1); 0 turns background off
 * @param topK classes a crop may use: the image-level top k (official: 5)
 * @param templates prompt templates (official: "a photo of a {}.")
 * @param keepLogits keep the merged class maps (background first) and per-crop group records
 */
public record OvSegmentorSettings(SizePolicy size, int window, int stride, float bgThreshold, int topK, PromptTemplates templates,
        boolean keepLogits) {
    /** Checks ranges. */
    public OvSegmentorSettings {
        if (window < 0 || (window > 0 && (stride <= 0 || stride > window))) {
            throw new IllegalArgumentException("window " + window + " / stride " + stride + ": need 0 < stride <= window");
        }
        if (!(bgThreshold >= 0 && bgThreshold <= 1)) throw new IllegalArgumentException("--bg-threshold must be in [0, 1], got " + bgThreshold);
        if (topK < 1) throw new IllegalArgumentException("top-k must be >= 1, got " + topK);
    }
}
