package org.ovseg.pipeline.odise;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;

/**
 * ODISE's inference settings: the bundle's (written by the exporter from the official configs)
 * with the options set explicitly on top.
 *
 * @param shortSide ResizeShortestEdge target (official test: 1024)
 * @param maxSize ResizeShortestEdge long-side cap (2560)
 * @param sizeDivisibility padding multiple (64)
 * @param backboneSize the diffusion backbone's crop side (512)
 * @param clipSize the CLIP branch's input side (336)
 * @param clipPatch its patch size (14)
 * @param clipMean CLIP normalisation mean
 * @param clipStd CLIP normalisation std
 * @param categoryLogitScale exp(logit_scale) of PooledMaskEmbed, clamped at 100
 * @param clipLogitScale CLIP's exp(logit_scale), clamped at 100
 * @param alpha CLIP weight for categories seen in training
 * @param beta CLIP weight for novel categories
 * @param objectMaskThreshold keep queries whose score exceeds this (0.0)
 * @param overlapThreshold drop segments keeping less than this share of their mask (0.8)
 * @param seenNames the training vocabulary (every synonym of COCO-panoptic's categories)
 * @param categoryPrompt template of the category head's texts ("{}": the label itself)
 * @param clipPrompt template of the CLIP head's texts ("a photo of a {}.")
 * @param keepLogits keep the semantic maps in the result
 */
public record OdiseSettings(int shortSide, int maxSize, int sizeDivisibility, int backboneSize, int clipSize, int clipPatch,
        float[] clipMean, float[] clipStd, float categoryLogitScale, float clipLogitScale, float alpha, float beta,
        float objectMaskThreshold, float overlapThreshold, Set<String> seenNames, String categoryPrompt, String clipPrompt,
        boolean keepLogits) {

    /** Synonyms inside one label are separated by this character, e.g. "person|man|woman". */
    public static final String SYNONYM_SEPARATOR = "|";

    /** The bundle's settings, then the options. */
    static OdiseSettings of(BundleManifest m, PipelineOptions o) {
        Map<String, Object> d = m.defaults();
        BundleManifest.Preprocessing pre = m.preprocessing();
        int shortSide = o.get(PipelineOption.SIZE, pre.size());
        if (shortSide < 32 || shortSide > 8192) throw new org.ovseg.OvsegException("--size " + shortSide + " is outside 32..8192");
        Set<String> seen = new LinkedHashSet<>();
        for (String s : string(d, "seen_labels", "").split("\n")) if (!s.isBlank()) seen.add(s.strip());
        float[] mean = floats(pre.mean()), std = floats(pre.std());
        return new OdiseSettings(shortSide, Math.max(pre.maxLongSide(), shortSide), integer(d, "size_divisibility", 64),
                integer(d, "backbone_size", 512), pre.patchSize() * pre.positionGrid(), pre.patchSize(), mean, std,
                number(d, "category_logit_scale", (float) m.logitScale()), number(d, "clip_logit_scale", 100f), number(d, "alpha", 0.35f),
                number(d, "beta", 0.65f), number(d, "object_mask_threshold", 0f), number(d, "overlap_threshold", 0.8f),
                Set.copyOf(seen), string(d, "category_prompt", "{}"), string(d, "clip_prompt", "a photo of a {}."),
                o.get(PipelineOption.KEEP_LOGITS, false));
    }

    /** detectron2's ResizeShortestEdge.get_output_shape: [height, width]. */
    int[] resizedShape(int h, int w) {
        double scale = (double) shortSide / Math.min(h, w);
        double newH, newW;
        if (h < w) {
            newH = shortSide;
            newW = scale * w;
        } else {
            newH = scale * h;
            newW = shortSide;
        }
        if (Math.max(newH, newW) > maxSize) {
            double s = maxSize / Math.max(newH, newW);
            newH *= s;
            newW *= s;
        }
        return new int[] {(int) (newH + 0.5), (int) (newW + 0.5)};
    }

    int pad(int side) {
        return (side + sizeDivisibility - 1) / sizeDivisibility * sizeDivisibility;
    }

    private static float[] floats(java.util.List<Double> l) {
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) f[i] = l.get(i).floatValue();
        return f;
    }

    private static float number(Map<String, Object> d, String key, float fallback) {
        return d.get(key) instanceof Number n ? n.floatValue() : fallback;
    }

    private static int integer(Map<String, Object> d, String key, int fallback) {
        return d.get(key) instanceof Number n ? n.intValue() : fallback;
    }

    private static String string(Map<String, Object> d, String key, String fallback) {
        return d.get(key) instanceof String s ? s : fallback;
    }

    @Override
    public String toString() {
        return "OdiseSettings[short=" + shortSide + ", max=" + maxSize + ", alpha=" + alpha + ", beta=" + beta + ", clipMean="
                + Arrays.toString(clipMean) + "]";
    }
}
