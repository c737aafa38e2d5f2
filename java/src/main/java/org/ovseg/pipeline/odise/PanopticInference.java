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
 *
 * <p>The order of operations is the official one: logits resized (to the padded size, cropped, to the
 * output size), then the sigmoid, then the sum, all at the output size; the sum is not moved to 1/4
 * resolution because σ does not commute with the resize. The sum itself, K·Q multiply-adds per pixel,
 * runs as a native GEMM (CpuKernels.matmul) over blocks of rows ({@link SemanticSum}); the merge stays
 * a Java pass over the kept queries. Memory: the per-pixel results plus one block; the K×H×W maps only
 * when asked for.
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
     * Mask2Former's query selection: each query's best class over K + 1 (the last is void) and its probability, and
     * the queries kept for the merge (not void, probability above the object-mask threshold), in query order.
     */
    record Queries(int[] label, float[] score, int[] kept) {
        static Queries select(float[] probs, int Q, int K, float objectMaskThreshold) {
            int K1 = K + 1;
            float[] score = new float[Q];
            int[] label = new int[Q];
            int n = 0;
            int[] kept = new int[Q];
            for (int q = 0; q < Q; q++) {
                int best = 0;
                for (int k = 1; k < K1; k++) if (probs[q * K1 + k] > probs[q * K1 + best]) best = k;
                label[q] = best;
                score[q] = probs[q * K1 + best];
                if (best != K && score[q] > objectMaskThreshold) kept[n++] = q;
            }
            return new Queries(label, score, java.util.Arrays.copyOf(kept, n));
        }
    }

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
        return run(probs, Q, K, rows, H, W, isThing, objectMaskThreshold, overlapThreshold, keepSemantic, 0);
    }

    /** As above, the semantic sum in blocks of {@code blockRows} image rows (0: the default size). */
    static Result run(float[] probs, int Q, int K, MaskRows rows, int H, int W, boolean[] isThing, float objectMaskThreshold,
            float overlapThreshold, boolean keepSemantic, int blockRows) {
        return run(probs, Q, K, rows, H, W, isThing, objectMaskThreshold, overlapThreshold, keepSemantic, blockRows, DEFAULT_PARTS);
    }

    /** Parts the rows are split into by default: one per core, at most 4 (each holds one block's buffers). */
    static final int DEFAULT_PARTS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    /**
     * As above, the image's blocks of rows split into up to {@code parts} contiguous runs processed
     * in parallel. The result is bitwise that of one part: every pixel's values are computed by the
     * same arithmetic, the blocks (the GEMM's calls) have the same boundaries, and the per-query pixel
     * counts are summed exactly (integers). The sigmoids, Q per output pixel, dominate on the CPU.
     */
    static Result run(float[] probs, int Q, int K, MaskRows rows, int H, int W, boolean[] isThing, float objectMaskThreshold,
            float overlapThreshold, boolean keepSemantic, int blockRows, int parts) {
        int K1 = K + 1;
        Queries sel = Queries.select(probs, Q, K, objectMaskThreshold);
        float[] qScore = sel.score();
        int[] qClass = sel.label();
        int[] kept = sel.kept();
        int n = kept.length;

        int[] labels = new int[H * W];
        float[] scores = new float[H * W];
        float[] semantic = keepSemantic ? new float[K * H * W] : null;
        int[] winner = new int[H * W];
        boolean[] onMask = new boolean[H * W];
        int rowsPerBlock = SemanticSum.rowsPerBlock(H, W, blockRows);
        int blocks = (H + rowsPerBlock - 1) / rowsPerBlock, P = Math.max(1, Math.min(parts, blocks));
        long[][] counts = new long[P][];
        java.util.stream.IntStream.range(0, P).parallel().forEach(part -> counts[part] = runRows(probs, Q, K, part == 0 ? rows : rows.copy(), H, W,
                blockRows, rowsPerBlock * (int) ((long) blocks * part / P), Math.min(H, rowsPerBlock * (int) ((long) blocks * (part + 1) / P)),
                kept, qScore, labels, scores, semantic, winner, onMask));
        long[] maskArea = new long[n], originalArea = new long[n], both = new long[n];
        for (long[] c : counts) {
            for (int j = 0; j < n; j++) {
                maskArea[j] += c[j];
                originalArea[j] += c[n + j];
                both[j] += c[2 * n + j];
            }
        }

        PipelineOutput.Panoptic panoptic = segments(kept, qClass, qScore, isThing, maskArea, originalArea, both, overlapThreshold, winner, onMask);
        return new Result(labels, scores, semantic, panoptic);
    }

    /** Rows [from, to) (whole blocks): writes their per-pixel results, returns the kept queries' pixel counts. */
    private static long[] runRows(float[] probs, int Q, int K, MaskRows rows, int H, int W, int blockRows, int from, int to, int[] kept,
            float[] qScore, int[] labels, float[] scores, float[] semantic, int[] winner, boolean[] onMask) {
        int n = kept.length;
        long[] counts = new long[3 * n]; // mask area, original area, both: [3, n]
        float[][] m = new float[Q][W];
        SemanticSum sum = SemanticSum.open(probs, Q, K, H, W, blockRows);
        int rowsPerBlock = sum.blockRows();
        for (int y0 = from; y0 < to; y0 += rowsPerBlock) {
            int y1 = Math.min(to, y0 + rowsPerBlock);
            for (int y = y0; y < y1; y++) {
                rows.row(y, m);
                sum.addRow(y - y0, m);
                float[] sig = sum.sigmoids();
                int base = y * W;
                for (int x = 0, o = (y - y0) * W * Q; x < W; x++, o += Q) {
                    int bj = -1;
                    float best = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        float s = sig[o + kept[j]];
                        if (s >= 0.5f) counts[n + j]++;
                        float v = qScore[kept[j]] * s;
                        if (v > best) {
                            best = v;
                            bj = j;
                        }
                    }
                    winner[base + x] = bj;
                    if (bj >= 0) {
                        counts[bj]++;
                        if (sig[o + kept[bj]] >= 0.5f) {
                            onMask[base + x] = true;
                            counts[2 * n + bj]++;
                        }
                    }
                }
            }
            sum.finish(y1 - y0, y0 * W, labels, scores, semantic);
        }
        return counts;
    }

    /**
     * Mask2Former's segment assignment: a kept query becomes a segment when its mask covers pixels it
     * won and keeps at least {@code overlapThreshold} of its own area; queries of one stuff class
     * share the first one's segment. {@code winner}/{@code onMask} are per pixel of the output.
     */
    static PipelineOutput.Panoptic segments(int[] kept, int[] qClass, float[] qScore, boolean[] isThing, long[] maskArea,
            long[] originalArea, long[] both, float overlapThreshold, int[] winner, boolean[] onMask) {
        int n = kept.length;
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
        int[] ids = new int[winner.length];
        for (int p = 0; p < ids.length; p++) {
            int j = winner[p];
            if (j >= 0 && onMask[p]) ids[p] = segmentOf[j];
        }
        return new PipelineOutput.Panoptic(ids, segments);
    }

    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }
}
