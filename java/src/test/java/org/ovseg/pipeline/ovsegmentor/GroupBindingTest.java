package org.ovseg.pipeline.ovsegmentor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ovseg.tensor.HostTensor;

/** The binding on the kernel against GroupViT's AssignAttention written as naive loops (hard one-hot, eps 1; soft map). */
class GroupBindingTest {
    @Test
    void matchesNaiveAssignAttention() {
        int G = 5, P = 37, C = 12;
        SplittableRandom r = new SplittableRandom(11);
        float[] q = new float[G * C], k = new float[P * C], v = new float[P * C];
        for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian(0, 2);
        for (int i = 0; i < k.length; i++) k[i] = (float) r.nextGaussian(0, 1);
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian(0, 1);
        GroupBinding.Result got;
        try (HostTensor tq = HostTensor.of(q, 1, G, C); HostTensor tk = HostTensor.of(k, 1, P, C); HostTensor tv = HostTensor.of(v, 1, P, C)) {
            got = GroupBinding.bind(tq, tk, tv, G, P, C);
        }
        float[] bound;
        try (HostTensor b = got.bound()) {
            bound = b.toFloatArray();
        }
        double[][] logits = new double[G][P];
        int[] hard = new int[P];
        float[] soft = new float[G * P];
        for (int p = 0; p < P; p++) {
            double mx = Double.NEGATIVE_INFINITY, sum = 0;
            for (int g = 0; g < G; g++) {
                double d = 0;
                for (int c = 0; c < C; c++) d += q[g * C + c] * k[p * C + c];
                logits[g][p] = d / Math.sqrt(C);
                if (logits[g][p] > mx) {
                    mx = logits[g][p];
                    hard[p] = g;
                }
            }
            for (int g = 0; g < G; g++) sum += Math.exp(logits[g][p] - mx);
            for (int g = 0; g < G; g++) soft[g * P + p] = (float) (Math.exp(logits[g][p] - mx) / sum);
        }
        float[] want = new float[G * C];
        for (int g = 0; g < G; g++) {
            int n = 0;
            for (int p = 0; p < P; p++) if (hard[p] == g) n++;
            for (int p = 0; p < P; p++) {
                if (hard[p] != g) continue;
                for (int c = 0; c < C; c++) want[g * C + c] += (float) (v[p * C + c] / (n + 1.0));
            }
        }
        assertArrayEquals(hard, got.hard());
        assertArrayEquals(soft, got.soft(), 1e-5f);
        assertArrayEquals(want, bound, 1e-5f);
        assertEquals(G * C, bound.length);
    }
}
