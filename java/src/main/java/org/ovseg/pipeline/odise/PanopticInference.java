package org.ovseg.pipeline.odise;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.ovseg.pipeline.PipelineOutput;

/**
 * Mask2Former's semantic and panoptic inference (MaskFormer.semantic_inference and
 * panoptic_inference) at the original image size, row by row:
 * <ul>
 *   <li>semantic: map[k] = Σ_q softmax(cls_q)[k]·σ(mask_q), k &lt; K; label = first maximum;
 *   <li>panoptic: queries whose best class is not void and whose score exceeds the object-mask
 *       threshold are kept; each pixel goes to the kept query maximising score·σ(mask); a query
 *       becomes a segment where that pixel set meets σ ≥ 0.5, unless its area over its own
 *       σ ≥ 0.5 area is below the overlap threshold; stuff queries of one class share one segment.
 * </ul>
 * Only one bit and one query index per pixel are kept between the passes: a query's segment
 * pixels lie where it wins the argmax, so its own σ ≥ 0.5 bit at those pixels suffices.
 */
public final class PanopticInference {
    private PanopticInference() {}

    /**
     * What inference produced.
     *
     * @param labels semantic label per pixel
     * @param scores the winning semantic value per pixel
     * @param semantic [K, H, W] semantic maps, or null when not kept
     * @param panoptic segment ids per pixel and the segments
     */
    public record Result(int[] labels, float[] scores, float[] semantic, PipelineOutput.Panoptic panoptic) {}

    /**
     * Inference from 1/4-resolution mask logits [Q, h4, w4] of a padded input padH × padW whose
     * resized image (cropH × cropW) came from an outH × outW original.
     *
     * @param probs [Q, K+1] class probabilities (void last), e.g. {@link OdiseClassifier#probabilities()}
     * @param isThing per class
     */
    public static Result infer(float[] probs, int Q, int K, float[] maskLogits, int h4, int w4, int padH, int padW, int cropH, int cropW,
            int outH, int outW, boolean[] isThing, float objectMaskThreshold, float overlapThreshold, boolean keepSemantic) {
        return run(probs, Q, K, new MaskRows(maskLogits, Q, h4, w4, padH, padW, cropH, cropW, outH, outW), outH, outW, isThing,
                objectMaskThreshold, overlapThreshold, keepSemantic);
    }

    /**
     * @param probs [Q, K+1] class probabilities (void last)
     * @param rows the mask rows at the output size
     * @param isThing per class
     */
    static Result run(float[] probs, int Q, int K, MaskRows rows, int H, int W, boolean[] isThing, float objectMaskThreshold,
            float overlapThreshold, boolean keepSemantic) {
        int K1 = K + 1;
        float[] qScore = new float[Q];
        int[] qClass = new int[Q];
        for (int q = 0; q < Q; q++) {
            int best = 0;
            for (int k = 1; k < K1; k++) if (probs[q * K1 + k] > probs[q * K1 + best]) best = k;
            qClass[q] = best;
            qScore[q] = probs[q * K1 + best];
        }
        List<Integer> keptList = new ArrayList<>();
        for (int q = 0; q < Q; q++) if (qClass[q] != K && qScore[q] > objectMaskThreshold) keptList.add(q);
        int[] kept = keptList.stream().mapToInt(Integer::intValue).toArray();
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
                for (int x = 0; x < W; x++) r[x] = sigmoid(r[x]);
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

        int[] segmentOf = new int[n];
        List<PipelineOutput.Segment> segments = new ArrayList<>();
        Map<Integer, Integer> stuffSegment = new HashMap<>();
        int current = 0;
        for (int j = 0; j < n; j++) {
            int cls = qClass[kept[j]];
            boolean thing = isThing[cls];
            if (maskArea[j] == 0 || originalArea[j] == 0 || both[j] == 0) continue;
            if ((double) maskArea[j] / originalArea[j] < overlapThreshold) continue;
            if (!thing) {
                Integer shared = stuffSegment.get(cls);
                if (shared != null) {
                    segmentOf[j] = shared;
                    continue;
                }
                stuffSegment.put(cls, current + 1);
            }
            current++;
            segmentOf[j] = current;
            // segments_info has no score officially; ovseg reports the query's class probability (for a
            // merged stuff segment, its first query's).
            segments.add(new PipelineOutput.Segment(current, cls, thing, qScore[kept[j]]));
        }
        int[] ids = new int[H * W];
        for (int p = 0; p < H * W; p++) {
            int j = winner[p];
            if (j >= 0 && onMask[p]) ids[p] = segmentOf[j];
        }
        return new Result(labels, scores, semantic, new PipelineOutput.Panoptic(ids, segments));
    }

    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }
}
