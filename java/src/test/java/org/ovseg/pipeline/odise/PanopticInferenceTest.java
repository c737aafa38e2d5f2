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
        SplittableRandom r = new SplittableRandom(seed);
        int Q = 7, K = 5, h4 = 6, w4 = 8, Hp = 24, Wp = 32, h = 22, w = 29, H = 37, W = 45;
        float[] logits = new float[Q * h4 * w4];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextDouble() * 12 - 6);
        // Probabilities with clear winners: two thing queries of class 0, two stuff queries of class 3, one void.
        int[] best = {0, 0, 3, 3, K, 1, 2};
        float[] probs = new float[Q * (K + 1)];
        for (int q = 0; q < Q; q++) {
            double z = 0;
            double[] raw = new double[K + 1];
            for (int k = 0; k <= K; k++) z += raw[k] = r.nextDouble() + (k == best[q] ? 3 + r.nextDouble() : 0);
            for (int k = 0; k <= K; k++) probs[q * (K + 1) + k] = (float) (raw[k] / z);
        }
        boolean[] thing = {true, true, true, false, false};

        PanopticInference.Result got = PanopticInference.run(probs, Q, K, new MaskRows(logits, Q, h4, w4, Hp, Wp, h, w, H, W), H, W, thing,
                0f, 0.8f, true);

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
        int mismatches = 0;
        for (int p = 0; p < H * W; p++) {
            int bl = -1;
            double bs = -1;
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int q = 0; q < Q; q++) s += probs[q * (K + 1) + k] * m[q][p];
                assertEquals(s, got.semantic()[k * H * W + p], 1e-5, "semantic map " + k + " at " + p);
                if (s > bs) {
                    bs = s;
                    bl = k;
                }
            }
            if (bl != got.labels()[p]) mismatches++;
        }
        assertTrue(mismatches <= 1, mismatches + " semantic labels differ");

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
