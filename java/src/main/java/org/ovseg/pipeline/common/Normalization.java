package org.ovseg.pipeline.common;

import java.util.Arrays;
import java.util.Locale;

/**
 * Per-channel image normalisation, (v/255 − mean)/std, on the 0..1 scale.
 *
 * @param name a label for logs and JSON ("clip", "imagenet", or "bundle")
 * @param mean per-channel mean (RGB)
 * @param std per-channel standard deviation (RGB)
 */
public record Normalization(String name, float[] mean, float[] std) {
    /** CLIP's own statistics (what CLIP was trained with, and what exported bundles record by default). */
    public static final Normalization CLIP = new Normalization("clip",
            new float[] {0.48145466f, 0.4578275f, 0.40821073f}, new float[] {0.26862954f, 0.26130258f, 0.27577711f});
    /** ImageNet's statistics: every official MaskCLIP config normalises with these (mmseg's img_norm_cfg). */
    public static final Normalization IMAGENET = new Normalization("imagenet",
            new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});

    /** Validates and copies. */
    public Normalization {
        if (mean.length != 3 || std.length != 3) throw new IllegalArgumentException("normalisation needs 3 means and 3 stds");
        for (float s : std) if (!(s > 0) || Float.isInfinite(s)) throw new IllegalArgumentException("std must be positive and finite: " + Arrays.toString(std));
        for (float m : mean) if (!Float.isFinite(m)) throw new IllegalArgumentException("mean must be finite: " + Arrays.toString(mean));
        mean = mean.clone();
        std = std.clone();
    }

    /** @return "clip" or "imagenet" */
    public static Normalization named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "clip" -> CLIP;
            case "imagenet" -> IMAGENET;
            default -> throw new IllegalArgumentException("unknown normalisation '" + name + "' (clip, imagenet)");
        };
    }

    /** @return a copy of the means */
    @Override
    public float[] mean() {
        return mean.clone();
    }

    /** @return a copy of the standard deviations */
    @Override
    public float[] std() {
        return std.clone();
    }
}
