package org.ovseg.pipeline.odise;

/**
 * ODISE's classification of Q mask proposals into K categories (CategoryODISE.cal_pred_logits,
 * PoolingCLIPHead, and the merge in CategoryODISE.forward):
 * <ol>
 *   <li>category head: s·cos(mask_embed, text_proj(text)) with the learned scale s, the maximum
 *       over a category's synonyms, plus a void column s·cos(mask_embed, text_proj(null_embed));
 *   <li>CLIP head: 100·cos(MaskCLIP mask token, CLIP text of "a photo of a {}."), max over synonyms;
 *   <li>geometric ensemble of both softmaxes over the K categories, exponent α for categories
 *       seen in training (COCO) and β for novel ones, re-normalised by a softmax;
 *   <li>times (1 − p_void) with p_void from the category head's K+1 softmax; the result is stored as
 *       log(p + 1e-8), the form Mask2Former's inference takes softmax of again (an official quirk,
 *       kept: it shifts probabilities by ~1e-8).
 * </ol>
 *
 * @param queries Q
 * @param classes K
 * @param categoryLogits [Q, K+1] category-head logits, void last
 * @param clipLogits [Q, K] CLIP-head logits
 * @param maskCls [Q, K+1] the log-probabilities handed to panoptic/semantic inference, void last
 */
public record OdiseClassifier(int queries, int classes, float[] categoryLogits, float[] clipLogits, float[] maskCls) {

    /** The text side, prepared once per label list. */
    public record Texts(int classes, int[] synonymClass, float[] categoryText, float[] nullText, float[] clipText, boolean[] seen) {
        /** Checks sizes: categoryText [S, P] and clipText [S, E] rows for synonyms S, in class order. */
        public Texts {
            if (synonymClass.length == 0) throw new IllegalArgumentException("no synonyms");
            for (int c : synonymClass) if (c < 0 || c >= classes) throw new IllegalArgumentException("synonym class " + c + " outside 0.." + (classes - 1));
            if (seen.length != classes) throw new IllegalArgumentException("seen flags for " + seen.length + " classes, need " + classes);
        }
    }

    /**
     * @param maskEmbed [Q, P] the mask-embed graph's output
     * @param clipEmbed [Q, E] the CLIP branch's mask-token embeddings
     */
    public static OdiseClassifier classify(float[] maskEmbed, float[] clipEmbed, int Q, Texts t, float categoryScale, float clipScale,
            float alpha, float beta) {
        int K = t.classes(), S = t.synonymClass().length;
        int P = maskEmbed.length / Q, E = clipEmbed.length / Q;
        if (t.categoryText().length != S * P || t.nullText().length != P) throw new IllegalArgumentException("category texts do not have width " + P);
        if (t.clipText().length != S * E) throw new IllegalArgumentException("CLIP texts do not have width " + E);
        float[] catText = normalizedRows(t.categoryText(), S, P), nul = normalizedRows(t.nullText(), 1, P);
        float[] clipText = normalizedRows(t.clipText(), S, E);
        float[] me = normalizedRows(maskEmbed, Q, P), ce = normalizedRows(clipEmbed, Q, E);
        float[] cat = new float[Q * (K + 1)], clip = new float[Q * K], cls = new float[Q * (K + 1)];
        java.util.Arrays.fill(cat, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(clip, Float.NEGATIVE_INFINITY);
        for (int q = 0; q < Q; q++) {
            for (int s = 0; s < S; s++) {
                int k = t.synonymClass()[s];
                cat[q * (K + 1) + k] = Math.max(cat[q * (K + 1) + k], categoryScale * dot(me, q * P, catText, s * P, P));
                clip[q * K + k] = Math.max(clip[q * K + k], clipScale * dot(ce, q * E, clipText, s * E, E));
            }
            cat[q * (K + 1) + K] = categoryScale * dot(me, q * P, nul, 0, P);

            double[] pCat = softmax(cat, q * (K + 1), K), pClip = softmax(clip, q * K, K);
            double[] pAll = softmax(cat, q * (K + 1), K + 1);
            double pVoid = pAll[K];
            double[] open = new double[K];
            for (int k = 0; k < K; k++) {
                double a = t.seen()[k] ? alpha : beta;
                // Official: log(p^(1−α)·q^α)·seen + log(p^(1−β)·q^β)·(1−seen); it yields NaN when the
                // unused term underflows to log 0 (−inf·0). Here only the used term is computed.
                open[k] = Math.log(Math.pow(pCat[k], 1 - a) * Math.pow(pClip[k], a));
            }
            double max = Double.NEGATIVE_INFINITY;
            for (double v : open) max = Math.max(max, v);
            double z = 0;
            for (int k = 0; k < K; k++) z += Math.exp(open[k] - max);
            for (int k = 0; k < K; k++) {
                double p = Math.exp(open[k] - max) / z * (1 - pVoid);
                cls[q * (K + 1) + k] = (float) Math.log(p + 1e-8);
            }
            cls[q * (K + 1) + K] = (float) Math.log(pVoid + 1e-8);
        }
        return new OdiseClassifier(Q, K, cat, clip, cls);
    }

    /** @return softmax(maskCls) per query [Q, K+1], the class probabilities panoptic inference ranks */
    public float[] probabilities() {
        int K1 = classes + 1;
        float[] out = new float[queries * K1];
        for (int q = 0; q < queries; q++) {
            double[] p = softmax(maskCls, q * K1, K1);
            for (int k = 0; k < K1; k++) out[q * K1 + k] = (float) p[k];
        }
        return out;
    }

    static double[] softmax(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        double[] p = new double[n];
        double z = 0;
        for (int i = 0; i < n; i++) z += p[i] = Math.exp(x[off + i] - max);
        for (int i = 0; i < n; i++) p[i] /= z;
        return p;
    }

    /** F.normalize(x, dim=-1): each row divided by max(‖row‖, 1e-12). */
    static float[] normalizedRows(float[] x, int rows, int width) {
        float[] out = new float[x.length];
        for (int r = 0; r < rows; r++) {
            double n = 0;
            for (int i = 0; i < width; i++) n += (double) x[r * width + i] * x[r * width + i];
            double d = Math.max(Math.sqrt(n), 1e-12);
            for (int i = 0; i < width; i++) out[r * width + i] = (float) (x[r * width + i] / d);
        }
        return out;
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) a[ao + i] * b[bo + i];
        return (float) s;
    }
}
