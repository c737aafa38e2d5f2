package org.ovseg.pipeline.maskclip;

import org.ovseg.pipeline.common.SizePolicy;
import org.ovseg.text.PromptTemplates;

/**
 * Inference settings. Defaults follow MaskCLIP's official ViT-B/16 configs: whole-image
 * inference, short side 512 (long side at most 2048), key smoothing and prompt denoising off.
 *
 * @param size how the image is rescaled
 * @param window sliding-window side in pixels, or 0 for whole-image inference
 * @param stride sliding-window stride
 * @param templates prompt templates
 * @param keySmoothing MaskCLIP's ks_thresh (0 = off; 1.0 in its MaskCLIP+ configs)
 * @param promptDenoising MaskCLIP's pd_thresh (0 = off; 0.5 in its MaskCLIP+ configs)
 * @param keepLogits also return the final [K, H, W] logits (memory: 4·K·H·W bytes)
 */
public record MaskClipOptions(SizePolicy size, int window, int stride, PromptTemplates templates,
        float keySmoothing, float promptDenoising, boolean keepLogits) {
    /** Validates. */
    public MaskClipOptions {
        if (window < 0 || (window > 0 && (stride <= 0 || stride > window))) {
            throw new IllegalArgumentException("sliding window needs 0 < stride <= window, got window " + window + " stride " + stride);
        }
        if (keySmoothing < 0 || promptDenoising < 0) throw new IllegalArgumentException("thresholds must be >= 0");
    }

    /** @return the defaults, with CLIP's 80 ImageNet templates */
    public static MaskClipOptions defaults() {
        return new MaskClipOptions(SizePolicy.shortSide(512), 0, 0, PromptTemplates.named("imagenet80"), 0f, 0f, false);
    }

    /** @return a copy with another size policy */
    public MaskClipOptions withSize(SizePolicy s) {
        return new MaskClipOptions(s, window, stride, templates, keySmoothing, promptDenoising, keepLogits);
    }

    /** @return a copy with other templates */
    public MaskClipOptions withTemplates(PromptTemplates t) {
        return new MaskClipOptions(size, window, stride, t, keySmoothing, promptDenoising, keepLogits);
    }

    /** @return a copy with sliding-window inference */
    public MaskClipOptions withWindow(int w, int s) {
        return new MaskClipOptions(size, w, s, templates, keySmoothing, promptDenoising, keepLogits);
    }

    /** @return a copy with refinement thresholds */
    public MaskClipOptions withRefinement(float ks, float pd) {
        return new MaskClipOptions(size, window, stride, templates, ks, pd, keepLogits);
    }

    /** @return a copy that keeps (or not) the final logits */
    public MaskClipOptions withKeepLogits(boolean keep) {
        return new MaskClipOptions(size, window, stride, templates, keySmoothing, promptDenoising, keep);
    }
}
