package org.ovseg.pipeline.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;
import org.ovseg.pipeline.PipelineOutput;

/**
 * Mask2Former's instance inference against a hand-computed case and against a naive transcription
 * of the official tensor code (full [Q, K] score matrix, full-image float masks, one sort), at sizes
 * that are not multiples of anything.
 */
class Mask2FormerInstancesTest {
    /** Two queries, two classes, a 2x2 image; probabilities chosen to be exact: softmax of logs. */
    private static float[] handLogits() {
        return new float[] {(float) Math.log(6), (float) Math.log(3), 0f, // q0: 0.6, 0.3, background 0.1
            (float) Math.log(2), (float) Math.log(7), 0f}; // q1: 0.2, 0.7, background 0.1
    }

    private static Mask2FormerInstances.MaskRows handMasks() {
        float[][] planes = {{0f, 2f, -1f, (float) Math.log(3)}, {-1f, -1f, -1f, -1f}};
        return (q, y, out) -> System.arraycopy(planes[q], y * 2, out, 0, 2);
    }

    @Test
    void handComputedCase() {
        List<PipelineOutput.Instance> r = Mask2FormerInstances.infer(handLogits(), 2, 2, 3, null, handMasks(), 2, 2);
        // Top 3 of {0.6, 0.3, 0.2, 0.7}: (q1,c1) 0.7, (q0,c0) 0.6, (q0,c1) 0.3. q0's mask: pixels 1 and 3
        // (logit 0 is not > 0), mean sigmoid (0.880797 + 0.75) / 2 = 0.815399; q1's mask is empty: score 0.
        assertEquals(3, r.size());
        assertEquals(0, r.get(0).labelIndex());
        assertEquals(0.6 * 0.815399, r.get(0).score(), 1e-6);
        assertEquals(1, r.get(1).labelIndex());
        assertEquals(0.3 * 0.815399, r.get(1).score(), 1e-6);
        assertEquals(1, r.get(2).labelIndex());
        assertEquals(0f, r.get(2).score());
        BitSet q0 = new BitSet();
        q0.set(1);
        q0.set(3);
        assertEquals(q0, r.get(0).mask());
        assertEquals(q0, r.get(1).mask());
        assertTrue(r.get(2).mask().isEmpty());
    }

    /** Things are filtered after the top-k, as the official code: a top-1 that is stuff leaves nothing. */
    @Test
    void thingFilterComesAfterTopK() {
        IntPredicate thingsOnly = c -> c < 1;
        assertEquals(List.of(), Mask2FormerInstances.infer(handLogits(), 2, 2, 1, thingsOnly, handMasks(), 2, 2));
        List<PipelineOutput.Instance> r = Mask2FormerInstances.infer(handLogits(), 2, 2, 3, thingsOnly, handMasks(), 2, 2);
        assertEquals(1, r.size());
        assertEquals(0, r.get(0).labelIndex());
    }

    /** Each picked query is read once, row by row; queries nobody picked are never read. */
    @Test
    void readsEachPickedQueryOnceRowByRow() {
        int queries = 6, classes = 3, w = 5, h = 7;
        float[] logits = new float[queries * (classes + 1)];
        for (int q = 0; q < queries; q++) logits[q * (classes + 1)] = q < 2 ? 5f : -5f; // queries 0 and 1 win class 0
        int[] reads = new int[queries];
        Mask2FormerInstances.MaskRows rows = (q, y, out) -> {
            reads[q]++;
            java.util.Arrays.fill(out, 1f);
        };
        List<PipelineOutput.Instance> r = Mask2FormerInstances.infer(logits, queries, classes, 2, null, rows, w, h);
        assertEquals(2, r.size());
        assertEquals(List.of(h, h, 0, 0, 0, 0), java.util.Arrays.stream(reads).boxed().toList());
    }

    record Naive(int label, double score, boolean[] mask) {}

    /** The official steps, transcribed without cleverness. */
    static List<Naive> naive(float[] logits, float[][] masks, int queries, int classes, int topK, IntPredicate keep, int n) {
        double[][] scores = new double[queries][classes];
        for (int q = 0; q < queries; q++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c <= classes; c++) max = Math.max(max, logits[q * (classes + 1) + c]);
            for (int c = 0; c <= classes; c++) sum += Math.exp(logits[q * (classes + 1) + c] - max);
            for (int c = 0; c < classes; c++) scores[q][c] = Math.exp(logits[q * (classes + 1) + c] - max) / sum;
        }
        List<int[]> flat = new ArrayList<>();
        for (int q = 0; q < queries; q++) for (int c = 0; c < classes; c++) flat.add(new int[] {q, c});
        flat.sort((a, b) -> Double.compare(scores[b[0]][b[1]], scores[a[0]][a[1]]));
        List<Naive> out = new ArrayList<>();
        for (int[] p : flat.subList(0, Math.min(topK, flat.size()))) {
            if (keep != null && !keep.test(p[1])) continue;
            boolean[] m = new boolean[n];
            double inside = 0, area = 0;
            for (int i = 0; i < n; i++) {
                m[i] = masks[p[0]][i] > 0;
                double sig = 1 / (1 + Math.exp(-masks[p[0]][i]));
                inside += sig * (m[i] ? 1 : 0);
                area += m[i] ? 1 : 0;
            }
            out.add(new Naive(p[1], scores[p[0]][p[1]] * inside / (area + 1e-6), m));
        }
        out.sort((a, b) -> Double.compare(b.score(), a.score()));
        return out;
    }

    @Test
    void matchesNaiveTranscriptionAtOddSizes() {
        int[][] cases = {{7, 5, 37, 23, 20}, {13, 3, 33, 17, 100}, {3, 2, 9, 65, 100}, {101, 8, 31, 29, 100}};
        for (int[] cs : cases) {
            int queries = cs[0], classes = cs[1], w = cs[2], h = cs[3], topK = cs[4];
            SplittableRandom rnd = new SplittableRandom(queries * 31L + classes);
            float[] logits = new float[queries * (classes + 1)];
            for (int i = 0; i < logits.length; i++) logits[i] = (float) (rnd.nextGaussian() * 3);
            float[][] masks = new float[queries][w * h];
            for (float[] m : masks) {
                double bias = rnd.nextGaussian() * 2;
                for (int i = 0; i < m.length; i++) m[i] = rnd.nextInt(10) == 0 ? 0f : (float) (bias + rnd.nextGaussian() * 2);
            }
            for (IntPredicate keep : new IntPredicate[] {null, c -> c % 2 == 0}) {
                List<Naive> want = naive(logits, masks, queries, classes, topK, keep, w * h);
                List<PipelineOutput.Instance> got = Mask2FormerInstances.infer(logits, queries, classes, topK, keep,
                        (q, y, out) -> System.arraycopy(masks[q], y * w, out, 0, w), w, h);
                String where = java.util.Arrays.toString(cs) + (keep == null ? "" : " things-only");
                assertEquals(want.size(), got.size(), where);
                Map<String, Integer> unmatched = new HashMap<>();
                for (int i = 0; i < want.size(); i++) {
                    assertEquals(want.get(i).score(), got.get(i).score(), 1e-6, where + " instance " + i);
                    if (i > 0) assertTrue(got.get(i - 1).score() >= got.get(i).score(), where + " sorted");
                    // Near-equal scores may swap places; compare the (label, mask) multiset.
                    unmatched.merge(want.get(i).label() + ":" + bits(want.get(i).mask()), 1, Integer::sum);
                    unmatched.merge(got.get(i).labelIndex() + ":" + got.get(i).mask(), -1, Integer::sum);
                }
                unmatched.values().removeIf(v -> v == 0);
                assertEquals(Map.of(), unmatched, where);
                assertTrue(keep == null || got.stream().allMatch(i -> i.labelIndex() % 2 == 0), where);
            }
        }
    }

    private static BitSet bits(boolean[] m) {
        BitSet b = new BitSet();
        for (int i = 0; i < m.length; i++) if (m[i]) b.set(i);
        return b;
    }
}
