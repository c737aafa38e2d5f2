package org.ovseg.pipeline.xdecoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ovseg.pipeline.PipelineOutput;

class PostprocessTest {
    private static float[] identity(int n) {
        float[] m = new float[n * n];
        for (int i = 0; i < n; i++) m[i * n + i] = 1f;
        return m;
    }

    @Test
    void semanticIsSoftmaxWithoutBackgroundTimesSigmoidSummedOverQueries() {
        SplittableRandom r = new SplittableRandom(3);
        int Q = 4, K = 3, h = 5, w = 6;
        float[] logits = new float[Q * (K + 1)], masks = new float[Q * h * w];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian() * 3;
        for (int i = 0; i < masks.length; i++) masks[i] = (float) r.nextGaussian() * 4;
        Postprocess.Result res = Postprocess.run(logits, masks, Q, K, h, w, identity(h), h, identity(w), w, K, 0.8f, 0.8f, true);
        for (int c = 0; c < K; c++) {
            for (int p = 0; p < h * w; p++) {
                double want = 0;
                for (int q = 0; q < Q; q++) {
                    double z = 0;
                    for (int k = 0; k <= K; k++) z += Math.exp(logits[q * (K + 1) + k]);
                    want += Math.exp(logits[q * (K + 1) + c]) / z / (1 + Math.exp(-masks[q * h * w + p]));
                }
                assertEquals(want, res.maps()[c * h * w + p], 1e-5);
            }
        }
        for (int p = 0; p < h * w; p++) {
            int best = 0;
            for (int c = 1; c < K; c++) if (res.maps()[c * h * w + p] > res.maps()[best * h * w + p]) best = c;
            assertEquals(best, res.labels()[p]);
        }
    }

    @Test
    void panopticKeepsConfidentQueriesMergesStuffAndDropsBackgroundAndOverlaps() {
        // 1x8 image; classes: 0 = thing, 1 = stuff; background = 2
        int n = 8;
        java.util.function.BiFunction<Integer, Integer, float[]> span = (a, b) -> {
            float[] m = new float[n];
            for (int i = 0; i < n; i++) m[i] = i >= a && i < b ? 0.99f : 0.01f;
            return m;
        };
        float[] score = {0.95f, 0.9f, 0.9f, 0.85f};
        int[] cls = {0, 1, 1, 0};
        // q0 thing 0..2, q1 stuff 2..4, q2 same stuff 4..6, q3 thing whose mask is mostly under q0 (overlap < 0.8)
        List<float[]> masks = List.of(span.apply(0, 2), span.apply(2, 4), span.apply(4, 6), span.apply(0, 3));
        PipelineOutput.Panoptic p = Postprocess.panoptic(List.of(0, 1, 2, 3), masks, score, cls, n, 1, 0.8f);
        assertArrayEquals(new int[] {1, 1, 2, 2, 2, 2, 0, 0}, p.ids());
        assertEquals(2, p.segments().size());
        assertTrue(p.segments().get(0).isThing());
        assertEquals(0, p.segments().get(0).labelIndex());
        assertFalse(p.segments().get(1).isThing());
        assertEquals(1, p.segments().get(1).labelIndex());
        assertEquals(0.9f, p.segments().get(1).score());
    }

    @Test
    void runKeepsOnlyNonBackgroundQueriesAboveTheObjectThreshold() {
        int Q = 2, K = 1, h = 1, w = 4;
        // q0: class 0 with p ~ 1; q1: background wins
        float[] logits = {10f, -10f, -10f, 10f};
        float[] masks = {9, 9, -9, -9, 9, 9, 9, 9};
        Postprocess.Result r = Postprocess.run(logits, masks, Q, K, h, w, identity(h), h, identity(w), w, 1, 0.8f, 0.8f, false);
        assertArrayEquals(new int[] {1, 1, 0, 0}, r.panoptic().ids());
        assertEquals(1, r.panoptic().segments().size());
        assertEquals(null, r.maps());
    }

    @Test
    void bandedUpsamplingEqualsTheDenseProduct() {
        int h4 = 7, w4 = 9, h = 23, w = 30, Q = 2;
        SplittableRandom r = new SplittableRandom(5);
        float[] masks = new float[Q * h4 * w4];
        for (int i = 0; i < masks.length; i++) masks[i] = (float) r.nextGaussian();
        float[] ay = Resize.toOriginal(h4, 32, 28, h), ax = Resize.toOriginal(w4, 36, 33, w);
        for (int q = 0; q < Q; q++) {
            float[] got = Postprocess.upsample(masks, q, h4, w4, ay, h, ax, w);
            for (int i = 0; i < h; i++) {
                for (int x = 0; x < w; x++) {
                    double want = 0;
                    for (int y = 0; y < h4; y++) for (int k = 0; k < w4; k++) want += ay[i * h4 + y] * masks[(q * h4 + y) * w4 + k] * ax[x * w4 + k];
                    assertEquals(want, got[i * w + x], 1e-5);
                }
            }
        }
    }

    @Test
    void groundingChoosesTheQueryWithTheHighestCosinePerSentence() {
        float[] emb = {1, 0, 0, 0, 5, 0, 0, 0, 0.2f}; // 3 queries, dim 3
        float[] sentences = {0, 1, 0, 0, 0, -3, 2, 0.1f, 0};
        assertArrayEquals(new int[] {1, 0, 0}, Postprocess.chooseQueries(emb, 3, sentences, 3, 3));
    }

    /**
     * Hand-worked referring label map over five pixels and three sentences: positive logits only
     * (a logit of exactly 0 is sigmoid 0.5, outside), the larger logit wins an overlap, a tie keeps
     * the earlier sentence, and each sentence's area counts its whole mask.
     */
    @Test
    void referringPixelsGoToTheLargestPositiveLogitEarlierSentenceOnTies() {
        float[][] sentence = {
            {2f, 1f, -1f, 3f, 0f},
            {1f, 4f, 5f, 3f, -2f},
            {0.5f, -1f, 0f, 3f, 0f},
        };
        int[] labels = {-1, -1, -1, -1, -1};
        float[] best = new float[5];
        long[] areas = new long[3];
        for (int i = 0; i < 3; i++) areas[i] = Postprocess.claim(sentence[i], i, labels, best);
        assertArrayEquals(new int[] {0, 1, 1, 0, -1}, labels);
        assertArrayEquals(new long[] {3, 4, 2}, areas);
        assertArrayEquals(new float[] {2f, 4f, 5f, 3f}, java.util.Arrays.copyOf(best, 4));
    }
}
