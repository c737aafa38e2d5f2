package org.ovseg.pipeline.odise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ovseg.pipeline.PipelineOutput;

/**
 * The streamed inference against a naive transcription of Mask2Former's: both resizes
 * materialised in double precision (F.interpolate's formula written out per pixel), then
 * semantic_inference and panoptic_inference with one boolean mask per kept query.
 */
class PanopticInferenceTest {

    /** F.interpolate(bilinear, align_corners=False) of one plane, in doubles. */
    static double[] resize(double[] src, int inH, int inW, int outH, int outW) {
        double[] out = new double[outH * outW];
        for (int y = 0; y < outH; y++) {
            double sy = Math.max((y + 0.5) * inH / outH - 0.5, 0);
            int y0 = Math.min((int) sy, inH - 1), y1 = Math.min(y0 + 1, inH - 1);
            double ly = sy - y0;
            for (int x = 0; x < outW; x++) {
                double sx = Math.max((x + 0.5) * inW / outW - 0.5, 0);
                int x0 = Math.min((int) sx, inW - 1), x1 = Math.min(x0 + 1, inW - 1);
                double lx = sx - x0;
                out[y * outW + x] = (1 - ly) * ((1 - lx) * src[y0 * inW + x0] + lx * src[y0 * inW + x1])
                        + ly * ((1 - lx) * src[y1 * inW + x0] + lx * src[y1 * inW + x1]);
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void matchesNaiveMask2FormerInference(long seed) {
        // Two thing queries of class 0, two stuff queries of class 3, one void.
        check(seed, new int[] {0, 0, 3, 3, 5, 1, 2}, 5, 6, 8, 24, 32, 22, 29, 37, 45, new boolean[] {true, true, true, false, false}, 0);
    }

    /**
     * The semantic sum runs on the native GEMM in blocks of image rows: sizes that leave a tail
     * everywhere. 53 rows in blocks of 1, 4, 7 and 16 rows leave 0, 1, 4 and 5 rows in the last block;
     * 71 columns make blocks of 71 to 3763 pixels (the GEMM's rows), below and past its 96- or
     * 128-row packing blocks, with a row tail after its 6- or 8-row register blocks (1136 = 142 × 8
     * excepted); Q = 19 (depth) and K = 13 (columns) are no multiple of any vector width; 0 is the
     * default block (all 53 rows at once here).
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 4, 7, 16, 0})
    void everyBlockTailMatchesNaiveInference(int blockRows) {
        int K = 13;
        int[] best = new int[19];
        for (int q = 0; q < best.length; q++) best[q] = q % 5 == 4 ? K : (q * 7) % K; // classes repeat, every fifth void
        boolean[] thing = new boolean[K];
        for (int k = 0; k < K; k += 2) thing[k] = true;
        check(11 + blockRows, best, K, 9, 13, 36, 52, 33, 47, 53, 71, thing, blockRows);
    }

    /**
     * Rows split into parallel runs of whole blocks give bitwise the single run's result (which the
     * tests above hold to the naive reference): 53 rows in blocks of 4 make 14 blocks, split 2, 3 and 5
     * ways (uneven runs), and 20 ways (more parts than blocks: one block each); overlap threshold 0.2
     * so that several of the overlapping discs become segments.
     */
    @ParameterizedTest
    @ValueSource(ints = {2, 3, 5, 20})
    void parallelRowRunsEqualOneRun(int parts) {
        int K = 13, Q = 19, h4 = 9, w4 = 13, H = 53, W = 71;
        SplittableRandom r = new SplittableRandom(parts);
        float[] logits = new float[Q * h4 * w4];
        for (int q = 0; q < Q; q++) { // discs (segments survive the overlap test) plus noise (near-ties)
            double cy = r.nextDouble() * h4, cx = r.nextDouble() * w4, rad = 1 + r.nextDouble() * 4;
            for (int y = 0; y < h4; y++) {
                for (int x = 0; x < w4; x++) logits[(q * h4 + y) * w4 + x] = (float) (6 * Math.tanh(rad - Math.hypot(y - cy, x - cx)) + r.nextDouble() - 0.5);
            }
        }
        float[] probs = new float[Q * (K + 1)];
        for (int q = 0; q < Q; q++) {
            double z = 0;
            double[] raw = new double[K + 1];
            for (int k = 0; k <= K; k++) z += raw[k] = r.nextDouble() + (k == q % (K + 1) ? 3 : 0);
            for (int k = 0; k <= K; k++) probs[q * (K + 1) + k] = (float) (raw[k] / z);
        }
        boolean[] thing = new boolean[K];
        for (int k = 0; k < K; k += 2) thing[k] = true;
        PanopticInference.Result one = PanopticInference.run(probs, Q, K, new MaskRows(logits, Q, h4, w4, 36, 52, 33, 47, H, W), H, W, thing,
                0f, 0.2f, true, 4, 1);
        PanopticInference.Result split = PanopticInference.run(probs, Q, K, new MaskRows(logits, Q, h4, w4, 36, 52, 33, 47, H, W), H, W, thing,
                0f, 0.2f, true, 4, parts);
        assertArrayEquals(one.labels(), split.labels());
        assertArrayEquals(one.scores(), split.scores());
        assertArrayEquals(one.semantic(), split.semantic());
        assertArrayEquals(one.panoptic().ids(), split.panoptic().ids());
        assertEquals(one.panoptic().segments(), split.panoptic().segments());
        assertTrue(one.panoptic().segments().size() > 1, "the case has segments to compare");
    }

    private static void check(long seed, int[] best, int K, int h4, int w4, int Hp, int Wp, int h, int w, int H, int W, boolean[] thing,
            int blockRows) {
        SplittableRandom r = new SplittableRandom(seed);
        int Q = best.length;
        float[] logits = new float[Q * h4 * w4];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextDouble() * 12 - 6);
        // Probabilities with clear winners best[q] (K: void).
        float[] probs = new float[Q * (K + 1)];
        for (int q = 0; q < Q; q++) {
            double z = 0;
            double[] raw = new double[K + 1];
            for (int k = 0; k <= K; k++) z += raw[k] = r.nextDouble() + (k == best[q] ? 3 + r.nextDouble() : 0);
            for (int k = 0; k <= K; k++) probs[q * (K + 1) + k] = (float) (raw[k] / z);
        }

        PanopticInference.Result got = PanopticInference.run(probs, Q, K, new MaskRows(logits, Q, h4, w4, Hp, Wp, h, w, H, W), H, W, thing,
                0f, 0.8f, true, blockRows);
        PanopticInference.Result lean = PanopticInference.run(probs, Q, K, new MaskRows(logits, Q, h4, w4, Hp, Wp, h, w, H, W), H, W, thing,
                0f, 0.8f, false, blockRows);
        // Without the semantic maps the kernel is asked for labels and maxima only: the same values.
        assertArrayEquals(got.labels(), lean.labels());
        assertArrayEquals(got.scores(), lean.scores());
        assertEquals(got.panoptic().segments(), lean.panoptic().segments());
        assertArrayEquals(got.panoptic().ids(), lean.panoptic().ids());

        // Reference: materialise the masks.
        double[][] m = new double[Q][];
        for (int q = 0; q < Q; q++) {
            double[] src = new double[h4 * w4];
            for (int i = 0; i < src.length; i++) src[i] = logits[q * h4 * w4 + i];
            double[] pad = resize(src, h4, w4, Hp, Wp);
            double[] crop = new double[h * w];
            for (int y = 0; y < h; y++) System.arraycopy(pad, y * Wp, crop, y * w, w);
            double[] full = resize(crop, h, w, H, W);
            for (int i = 0; i < full.length; i++) full[i] = 1 / (1 + Math.exp(-full[i]));
            m[q] = full;
        }
        for (int p = 0; p < H * W; p++) {
            int bl = -1;
            double bs = -1, second = -1;
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int q = 0; q < Q; q++) s += probs[q * (K + 1) + k] * m[q][p];
                // Relative 1e-5: the GEMM's fp32 sums round differently from this double loop.
                assertEquals(s, got.semantic()[k * H * W + p], 1e-5 * Math.max(1, Math.abs(s)), "semantic map " + k + " at " + p);
                if (s > bs) {
                    second = bs;
                    bs = s;
                    bl = k;
                } else if (s > second) {
                    second = s;
                }
            }
            assertEquals(bs, got.scores()[p], 1e-5 * Math.max(1, bs), "semantic maximum at " + p);
            // The first maximum, except where the top two are within rounding of each other.
            if (bs - second > 1e-5) assertEquals(bl, got.labels()[p], "semantic label at " + p);
        }

        // panoptic_inference, transcribed.
        List<Integer> kept = new ArrayList<>();
        for (int q = 0; q < Q; q++) if (best[q] != K) kept.add(q);
        int[] ids = new int[H * W];
        int[] winner = new int[H * W];
        for (int p = 0; p < H * W; p++) {
            double b = -1;
            for (int j = 0; j < kept.size(); j++) {
                int q = kept.get(j);
                double v = probs[q * (K + 1) + best[q]] * m[q][p];
                if (v > b) {
                    b = v;
                    winner[p] = j;
                }
            }
        }
        List<PipelineOutput.Segment> segs = new ArrayList<>();
        Map<Integer, Integer> stuff = new HashMap<>();
        int current = 0;
        for (int j = 0; j < kept.size(); j++) {
            int q = kept.get(j), cls = best[q];
            long area = 0, orig = 0, both = 0;
            for (int p = 0; p < H * W; p++) {
                boolean win = winner[p] == j, on = m[q][p] >= 0.5;
                if (win) area++;
                if (on) orig++;
                if (win && on) both++;
            }
            if (area == 0 || orig == 0 || both == 0 || (double) area / orig < 0.8) continue;
            int id;
            if (!thing[cls] && stuff.containsKey(cls)) {
                id = stuff.get(cls);
            } else {
                if (!thing[cls]) stuff.put(cls, current + 1);
                id = ++current;
                segs.add(new PipelineOutput.Segment(id, cls, thing[cls], probs[q * (K + 1) + cls]));
            }
            for (int p = 0; p < H * W; p++) if (winner[p] == j && m[q][p] >= 0.5) ids[p] = id;
        }
        assertEquals(segs, got.panoptic().segments());
        assertArrayEquals(ids, got.panoptic().ids());
    }
}
