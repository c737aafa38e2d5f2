package org.ovseg.pipeline.maskclip;

import org.ovseg.pipeline.common.Normalization;
import org.ovseg.pipeline.common.SizePolicy;
import org.ovseg.text.PromptTemplates;

/**
 * Inference settings. Defaults follow MaskCLIP's official ViT-B/16 configs: whole-image
 * inference, short side 512 (long side at most 2048), key smoothing and prompt denoising off;
 * normalisation and templates are the bundle's (CLIP's mean/std and 80 templates unless exported
 * otherwise). {@link #withPreset} applies one of the official dataset settings.
 *
 * @param size how the image is rescaled
 * @param window sliding-window side in pixels, or 0 for whole-image inference
 * @param stride sliding-window stride
 * @param templates prompt templates
 * @param keySmoothing MaskCLIP's ks_thresh (0 = off; 1.0 in its MaskCLIP+ configs)
 * @param promptDenoising MaskCLIP's pd_thresh (0 = off; 0.5 in its MaskCLIP+ configs)
 * @param keepLogits also return the final [K, H, W] logits (memory: 4·K·H·W bytes)
 * @param normalization mean/std overriding the bundle's, or null to use the bundle's
 * @param method how the last block is run (MaskCLIP or one of its training-free successors)
 * @param pamr refine the final logits with PAMR (10 iterations, dilations 8 and 16, as NACLIP)
 */
public record MaskClipOptions(SizePolicy size, int window, int stride, PromptTemplates templates,
        float keySmoothing, float promptDenoising, boolean keepLogits, Normalization normalization,
        FamilyMethod method, boolean pamr) {
    /** Validates. */
    public MaskClipOptions {
        if (method == null) method = FamilyMethod.MASKCLIP;
        if (method != FamilyMethod.MASKCLIP && (keySmoothing > 0 || promptDenoising > 0)) {
            throw new IllegalArgumentException("key smoothing and prompt denoising are MaskCLIP's refinements; "
                    + "they do not apply to --method " + method.cliName());
        }
        if (window < 0 || (window > 0 && (stride <= 0 || stride > window))) {
            throw new IllegalArgumentException("sliding window needs 0 < stride <= window, got window " + window + " stride " + stride);
        }
        if (keySmoothing < 0 || promptDenoising < 0) throw new IllegalArgumentException("thresholds must be >= 0");
    }

    /** Without a normalisation override (the bundle's mean/std). */
    public MaskClipOptions(SizePolicy size, int window, int stride, PromptTemplates templates,
            float keySmoothing, float promptDenoising, boolean keepLogits) {
        this(size, window, stride, templates, keySmoothing, promptDenoising, keepLogits, null, FamilyMethod.MASKCLIP, false);
    }

    /** @return the defaults, with CLIP's 80 ImageNet templates */
    public static MaskClipOptions defaults() {
        return new MaskClipOptions(SizePolicy.shortSide(512), 0, 0, PromptTemplates.named("imagenet80"), 0f, 0f, false);
    }

    /**
     * A copy with an official preset's size, normalisation, templates and window (see
     * {@link MaskClipPreset}); refinement thresholds and keepLogits are kept. Apply it before
     * any explicit overrides (withSize, withTemplates, ...), which then win.
     */
    public MaskClipOptions withPreset(MaskClipPreset p) {
        return new MaskClipOptions(p.size(), p.window(), p.stride(), PromptTemplates.named(p.templates()),
                keySmoothing, promptDenoising, keepLogits, p.normalization(), method, pamr);
    }

    /** @return a copy with another size policy */
    public MaskClipOptions withSize(SizePolicy s) {
        return new MaskClipOptions(s, window, stride, templates, keySmoothing, promptDenoising, keepLogits, normalization, method, pamr);
    }

    /** @return a copy with other templates */
    public MaskClipOptions withTemplates(PromptTemplates t) {
        return new MaskClipOptions(size, window, stride, t, keySmoothing, promptDenoising, keepLogits, normalization, method, pamr);
    }

    /** @return a copy with sliding-window inference */
    public MaskClipOptions withWindow(int w, int s) {
        return new MaskClipOptions(size, w, s, templates, keySmoothing, promptDenoising, keepLogits, normalization, method, pamr);
    }

    /** @return a copy with refinement thresholds */
    public MaskClipOptions withRefinement(float ks, float pd) {
        return new MaskClipOptions(size, window, stride, templates, ks, pd, keepLogits, normalization, method, pamr);
    }

    /** @return a copy that keeps (or not) the final logits */
    public MaskClipOptions withKeepLogits(boolean keep) {
        return new MaskClipOptions(size, window, stride, templates, keySmoothing, promptDenoising, keep, normalization, method, pamr);
    }

    /** @return a copy normalising with {@code n} instead of the bundle's mean/std (null: the bundle's) */
    public MaskClipOptions withNormalization(Normalization n) {
        return new MaskClipOptions(size, window, stride, templates, keySmoothing, promptDenoising, keepLogits, n, method, pamr);
    }

    /** @return a copy running {@code m}'s last block, with or without PAMR */
    public MaskClipOptions withMethod(FamilyMethod m, boolean refine) {
        return new MaskClipOptions(size, window, stride, templates, keySmoothing, promptDenoising, keepLogits, normalization, m, refine);
    }
}
