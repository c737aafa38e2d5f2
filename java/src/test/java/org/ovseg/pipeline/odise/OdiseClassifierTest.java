package org.ovseg.pipeline.odise;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** One query, two categories, worked through ODISE's formulas by hand (numbers in the comments). */
class OdiseClassifierTest {
    @Test
    void synonymsMaxVoidColumnAndGeometricEnsemble() {
        // Category head: mask embed (3, 0) (normalised to (1, 0)); class 0 has synonyms (0, 1) and (2, 0), class 1 is (1, 1);
        // null (−1, 0). Scale 10 → class 0: max(0, 10) = 10, class 1: 10/√2, void: −10.
        // CLIP head: token (0, 5) → (0, 1); class 0 synonyms (0, 1) and (1, 0) → max(2, 0) = 2; class 1 (1, −1) → −√2. Scale 2.
        OdiseClassifier.Texts t = new OdiseClassifier.Texts(2, new int[] {0, 0, 1},
                new float[] {0, 1, 2, 0, 1, 1}, new float[] {-1, 0}, new float[] {0, 1, 1, 0, 1, -1}, new boolean[] {true, false});
        OdiseClassifier c = OdiseClassifier.classify(new float[] {3, 0}, new float[] {0, 5}, 1, t, 10f, 2f, 0.3f, 0.7f);
        double s2 = Math.sqrt(2);
        assertEquals(10, c.categoryLogits()[0], 1e-5);
        assertEquals(10 / s2, c.categoryLogits()[1], 1e-5);
        assertEquals(-10, c.categoryLogits()[2], 1e-5);
        assertEquals(2, c.clipLogits()[0], 1e-5);
        assertEquals(-s2, c.clipLogits()[1], 1e-5);

        double p0 = 1 / (1 + Math.exp(10 / s2 - 10)), p1 = 1 - p0; // softmax over the K categories only
        double q0 = 1 / (1 + Math.exp(-s2 - 2)), q1 = 1 - q0;
        double o0 = Math.pow(p0, 0.7) * Math.pow(q0, 0.3); // class 0 seen: α = 0.3 on CLIP
        double o1 = Math.pow(p1, 0.3) * Math.pow(q1, 0.7); // class 1 novel: β = 0.7 on CLIP
        double pVoid = Math.exp(-10) / (Math.exp(10) + Math.exp(10 / s2) + Math.exp(-10));
        double f0 = o0 / (o0 + o1) * (1 - pVoid), f1 = o1 / (o0 + o1) * (1 - pVoid);
        assertEquals(Math.log(f0 + 1e-8), c.maskCls()[0], 1e-5);
        assertEquals(Math.log(f1 + 1e-8), c.maskCls()[1], 1e-5);
        assertEquals(Math.log(pVoid + 1e-8), c.maskCls()[2], 1e-4);
        float[] probs = c.probabilities();
        double z = f0 + f1 + pVoid + 3e-8;
        assertEquals((f0 + 1e-8) / z, probs[0], 1e-6);
        assertEquals((f1 + 1e-8) / z, probs[1], 1e-6);
    }

    @Test
    void aZeroMaskEmbeddingGivesUniformCategoryLogits() {
        // F.normalize of a zero vector is zero: every cosine is 0, the void column too.
        OdiseClassifier.Texts t = new OdiseClassifier.Texts(2, new int[] {0, 1}, new float[] {1, 0, 0, 1}, new float[] {1, 1},
                new float[] {1, 0, 0, 1}, new boolean[] {false, false});
        OdiseClassifier c = OdiseClassifier.classify(new float[] {0, 0}, new float[] {0, 0}, 1, t, 14f, 100f, 0.35f, 0.65f);
        float[] p = c.probabilities();
        for (float v : p) assertEquals(1 / 3.0, v, 1e-6);
    }
}
