package org.ovseg.pipeline.odise;

import org.ovseg.pipeline.PipelineOutput;

/**
 * The semantic and panoptic inference as it was before the semantic sum moved onto the native
 * GEMM (SemanticSum): the whole Σ_q softmax·σ in a Java loop, four classes per pass. Kept only
 * in the benchmarks so OdiseStagesBench times both in one run; it lives in the pipeline's package
 * for MaskRows.
 */
public final class JavaLoopPanopticInference {
    private JavaLoopPanopticInference() {}

    /** As {@link PanopticInference#infer}, with the semantic sum in Java. */
    public static PanopticInference.Result infer(float[] probs, int Q, int K, float[] maskLogits, int h4, int w4, int padH, int padW,
            int cropH, int cropW, int outH, int outW, boolean[] isThing, float objectMaskThreshold, float overlapThreshold,
            boolean keepSemantic) {
        return run(probs, Q, K, new MaskRows(maskLogits, Q, h4, w4, padH, padW, cropH, cropW, outH, outW), outH, outW, isThing,
                objectMaskThreshold, overlapThreshold, keepSemantic);
    }

    static PanopticInference.Result run(float[] probs, int Q, int K, MaskRows rows, int H, int W, boolean[] isThing, float objectMaskThreshold,
            float overlapThreshold, boolean keepSemantic) {
        int K1 = K + 1;
        PanopticInference.Queries sel = PanopticInference.Queries.select(probs, Q, K, objectMaskThreshold);
        float[] qScore = sel.score();
        int[] qClass = sel.label();
        int[] kept = sel.kept();
        int n = kept.length;

        int[] labels = new int[H * W];
        float[] scores = new float[H * W];
        float[] semantic = keepSemantic ? new float[K * H * W] : null;
        int[] winner = new int[H * W];
        boolean[] onMask = new boolean[H * W];
        long[] maskArea = new long[n], originalArea = new long[n], both = new long[n];
        float[] pqk = new float[Q * K]; // transposed probabilities, class-major, for the semantic sum
        for (int q = 0; q < Q; q++) for (int k = 0; k < K; k++) pqk[k * Q + q] = probs[q * K1 + k];

        float[][] m = new float[Q][W];
        float[][] acc = new float[4][W];
        for (int y = 0; y < H; y++) {
            rows.row(y, m);
            for (int q = 0; q < Q; q++) {
                float[] r = m[q];
                for (int x = 0; x < W; x++) r[x] = PanopticInference.sigmoid(r[x]);
            }
            int base = y * W;
            // Four classes per pass over the Q sigmoid rows: each row is read once per four classes.
            for (int k0 = 0; k0 < K; k0 += 4) {
                int nk = Math.min(4, K - k0);
                for (int j = 0; j < nk; j++) java.util.Arrays.fill(acc[j], 0f);
                float[] a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
                for (int q = 0; q < Q; q++) {
                    float p0 = pqk[k0 * Q + q];
                    float p1 = nk > 1 ? pqk[(k0 + 1) * Q + q] : 0f, p2 = nk > 2 ? pqk[(k0 + 2) * Q + q] : 0f, p3 = nk > 3 ? pqk[(k0 + 3) * Q + q] : 0f;
                    float[] r = m[q];
                    for (int x = 0; x < W; x++) {
                        float v = r[x];
                        a0[x] += p0 * v;
                        a1[x] += p1 * v;
                        a2[x] += p2 * v;
                        a3[x] += p3 * v;
                    }
                }
                for (int j = 0; j < nk; j++) {
                    int k = k0 + j;
                    float[] a = acc[j];
                    if (semantic != null) System.arraycopy(a, 0, semantic, k * H * W + base, W);
                    for (int x = 0; x < W; x++) {
                        if (k == 0 || a[x] > scores[base + x]) {
                            scores[base + x] = a[x];
                            labels[base + x] = k;
                        }
                    }
                }
            }
            for (int x = 0; x < W; x++) {
                int bj = -1;
                float best = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    float s = m[kept[j]][x];
                    if (s >= 0.5f) originalArea[j]++;
                    float v = qScore[kept[j]] * s;
                    if (v > best) {
                        best = v;
                        bj = j;
                    }
                }
                winner[base + x] = bj;
                if (bj >= 0) {
                    maskArea[bj]++;
                    if (m[kept[bj]][x] >= 0.5f) {
                        onMask[base + x] = true;
                        both[bj]++;
                    }
                }
            }
        }

        PipelineOutput.Panoptic panoptic = PanopticInference.segments(kept, qClass, qScore, isThing, maskArea, originalArea, both,
                overlapThreshold, winner, onMask);
        return new PanopticInference.Result(labels, scores, semantic, panoptic);
    }
}
