package org.ovseg.pipeline.maskclip;

import org.ovseg.engine.Engine;
import org.ovseg.text.TextEmbedder;

/**
 * Everything MaskCLIP needs from a bundle, already loaded: the dense image encoder, the text
 * embedder, and the dense head's affine map (ViT: W = proj<sup>T</sup>, no bias; ResNet: the
 * attention pool's value and output projections folded into W, b).
 *
 * @param image dense image encoder: pixels [1,3,H,W] (+ positional embedding) → features [1,P,D]
 * @param text class embeddings
 * @param imageInput name of the pixel input
 * @param positionInput name of the positional-embedding input, or null (ResNet)
 * @param featuresOutput name of the dense feature output [1, P, D]
 * @param keysOutput name of the dense key output [1, P, D] (for key smoothing), or null
 * @param positionalEmbedding [1 + grid², D] with the class position first, or null
 * @param positionGrid side of the positional grid (14 for ViT-B/16 at 224)
 * @param patch encoder stride in pixels (16 for ViT-B/16, 32 for RN50)
 * @param width feature dimension D
 * @param headWeight W [E, D]
 * @param headBias b [E] or null
 * @param mean per-channel mean on the 0..1 scale
 * @param std per-channel std on the 0..1 scale
 * @param logitScale τ in logit = τ·cos; MaskCLIP's head uses raw cosines (1)
 * @param textEngine the text encoder behind {@code text}, closed with the model
 */
public record MaskClipModel(
        Engine image,
        TextEmbedder text,
        String imageInput,
        String positionInput,
        String featuresOutput,
        String keysOutput,
        float[] positionalEmbedding,
        int positionGrid,
        int patch,
        int width,
        float[] headWeight,
        float[] headBias,
        float[] mean,
        float[] std,
        float logitScale,
        Engine textEngine) implements AutoCloseable {

    /** @return E, the joint embedding dimension */
    public int embedDim() {
        return text.dim();
    }

    @Override
    public void close() {
        try {
            image.close();
        } finally {
            if (textEngine != null) textEngine.close();
        }
    }
}
