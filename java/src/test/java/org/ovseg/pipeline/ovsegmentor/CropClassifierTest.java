package org.ovseg.pipeline.ovsegmentor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The zero-shot rule against a hand-worked case (numbers computed below with the formula spelled out). */
class CropClassifierTest {
    @Test
    void topKRestrictionReweightingAndThresholdMatchTheOfficialFormula() {
        // E = 2, K = 3 unit texts: t0 = (1,0), t1 = (0,1), t2 = (-1,0); G = 2 groups; s = 2; top-2.
        float[] text = {1, 0, 0, 1, -1, 0};
        float[] groups = {3, 0, /* g0 along t0 */ 0, -2 /* g1 along -t1 */};
        float[] image = {0.6f, 0.8f}; // cos: 0.6, 0.8, -0.6 -> top-2 keeps t0, t1
        CropClassifier.GroupScores r = CropClassifier.classify(groups, image, text, 2, 3, 2, 2f, 2, 0.95f);
        assertArrayEquals(new float[] {1, 0, -1, 0, -1, 0}, r.cosines(), 1e-6f);
        // Group 0: A = (2, 0, -2); P = softmax(A); restricted softmax over (2, 0) then times P.
        double[] p0 = softmax(2, 0, -2), q0 = softmax(2, 0);
        // Group 1: A = (0, -2, 0).
        double[] p1 = softmax(0, -2, 0), q1 = softmax(0, -2);
        float[] want = {(float) (q0[0] * p0[0]), (float) (q0[1] * p0[1]), 0, (float) (q1[0] * p1[0]), (float) (q1[1] * p1[1]), 0};
        assertArrayEquals(want, r.scores(), 1e-6f);
        assertEquals((float) Math.min(0.95, q0[0] * p0[0]), r.threshold(), 1e-6f);
    }

    @Test
    void thresholdIsTheBackgroundSettingWhenSomeGroupIsConfident() {
        float[] text = {1, 0, 0, 1};
        float[] groups = {1, 0, 0, 1};
        CropClassifier.GroupScores r = CropClassifier.classify(groups, new float[] {1, 1}, text, 2, 2, 2, 100f, 5, 0.9f);
        assertEquals(0.9f, r.threshold(), 0f); // each group scores ~1 on its class
        assertEquals(1f, r.scores()[0], 1e-6f);
    }

    @Test
    void topClassesKeepsTheEarlierIndexOnTies() {
        assertArrayEquals(new boolean[] {true, false, true, false}, CropClassifier.topClasses(new float[] {0.3f, 0.2f, 0.3f, 0.2f}, 2));
    }

    private static double[] softmax(double... v) {
        double mx = Double.NEGATIVE_INFINITY, sum = 0;
        for (double x : v) mx = Math.max(mx, x);
        double[] e = new double[v.length];
        for (int i = 0; i < v.length; i++) sum += e[i] = Math.exp(v[i] - mx);
        for (int i = 0; i < v.length; i++) e[i] /= sum;
        return e;
    }
}
