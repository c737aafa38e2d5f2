package org.ovseg.pipeline.ovsegmentor;

/**
 * Classes for one crop's groups, the official zero-shot rule (GroupViT's seg wrapper as
 * OVSegmentor ships it), with s the logit scale and every embedding L2-normalised:
 * <ol>
 *   <li>A = s·cos(group, class) [G, K]; P = softmax over classes of A.
 *   <li>The image embedding picks the top-k classes of softmax(s·cos(image, class)); A keeps only
 *       those (−∞ elsewhere) and is softmaxed over classes again, then multiplied by P.
 *   <li>Each pixel takes its group's row; it is background where that row's best score is below
 *       min(bg threshold, the crop's best score over all groups and classes).
 * </ol>
 */
final class CropClassifier {
    private CropClassifier() {}

    /**
     * @param scores [G, K] the restricted, re-weighted group scores
     * @param cosines [G, K] group–class cosine similarities (for inspection)
     * @param threshold min(bg threshold, max score) for this crop
     */
    record GroupScores(float[] scores, float[] cosines, float threshold) {}

    /**
     * @param groups [G, E] group embeddings (not normalised)
     * @param image [E] image embedding (not normalised)
     * @param text [K, E] unit-norm class embeddings
     */
    static GroupScores classify(float[] groups, float[] image, float[] text, int G, int K, int E, float logitScale, int topK,
            float bgThreshold) {
        float[] cos = new float[G * K];
        for (int g = 0; g < G; g++) cosines(groups, g * E, text, K, E, cos, g * K);
        float[] imageCos = new float[K];
        cosines(image, 0, text, K, E, imageCos, 0);
        boolean[] keep = topClasses(softmax(scaled(imageCos, logitScale)), Math.min(topK, K));
        float[] scores = new float[G * K];
        float best = 0;
        for (int g = 0; g < G; g++) {
            float[] row = scaled(java.util.Arrays.copyOfRange(cos, g * K, (g + 1) * K), logitScale);
            float[] prior = softmax(row);
            for (int k = 0; k < K; k++) if (!keep[k]) row[k] = Float.NEGATIVE_INFINITY;
            float[] restricted = softmax(row);
            for (int k = 0; k < K; k++) {
                scores[g * K + k] = restricted[k] * prior[k];
                best = Math.max(best, scores[g * K + k]);
            }
        }
        return new GroupScores(scores, cos, Math.min(bgThreshold, best));
    }

    private static void cosines(float[] a, int off, float[] text, int K, int E, float[] out, int outOff) {
        double n = 0;
        for (int e = 0; e < E; e++) n += (double) a[off + e] * a[off + e];
        double inv = 1 / Math.max(Math.sqrt(n), 1e-12);
        for (int k = 0; k < K; k++) {
            double d = 0;
            for (int e = 0; e < E; e++) d += (double) a[off + e] * text[k * E + e];
            out[outOff + k] = (float) (d * inv);
        }
    }

    private static float[] scaled(float[] v, float s) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i] * s;
        return out;
    }

    static float[] softmax(float[] v) {
        float mx = Float.NEGATIVE_INFINITY;
        for (float x : v) mx = Math.max(mx, x);
        double sum = 0;
        double[] e = new double[v.length];
        for (int i = 0; i < v.length; i++) sum += e[i] = v[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp(v[i] - mx);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) (e[i] / sum);
        return out;
    }

    /** The k largest entries (the earlier index on ties, as torch.topk on CPU in practice). */
    static boolean[] topClasses(float[] p, int k) {
        boolean[] keep = new boolean[p.length];
        for (int n = 0; n < k; n++) {
            int best = -1;
            for (int i = 0; i < p.length; i++) if (!keep[i] && (best < 0 || p[i] > p[best])) best = i;
            keep[best] = true;
        }
        return keep;
    }
}
