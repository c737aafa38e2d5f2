package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The prepared head against the unprepared kernel (bit for bit: same packing, same tiles) and a naive double loop. */
class DenseHeadTest {
    @ParameterizedTest
    @CsvSource({"1,1,1,1,1", "2,97,77,33,5", "1,130,300,65,21", "1,64,257,512,3", "3,65,8,7,40", "1,1024,768,512,21"})
    void matchesTheUnpreparedKernelAndANaiveLoop(int B, int P, int D, int E, int K) {
        SplittableRandom rng = new SplittableRandom(7L * P + D + 31L * K);
        float[] F = Bufs.gaussian(rng, B * P * D, 1), W = Bufs.gaussian(rng, E * D, 0.1);
        float[] bias = Bufs.gaussian(rng, E, 0.5), T = Bufs.gaussian(rng, K * E, 1);
        Bufs.unitRows(T, K, E);
        float tau = 50f;
        for (float[] b : new float[][] {bias, null}) {
            FloatBuffer l1 = Bufs.floats(B * K * P), s1 = Bufs.floats(B * P), l2 = Bufs.floats(B * K * P), s2 = Bufs.floats(B * P);
            IntBuffer a1 = Bufs.ints(B * P), a2 = Bufs.ints(B * P);
            FloatBuffer wb = Bufs.direct(W), bb = b == null ? null : Bufs.direct(b);
            try (DenseHead head = DenseHead.prepare(wb, bb, E, D)) {
                // The source buffers may change after prepare: the head keeps its own copy.
                wb.put(0, 1e6f);
                if (bb != null) bb.put(0, 1e6f);
                head.project(Bufs.direct(F), B, P, Bufs.direct(T), K, tau, l1, a1, s1);
            }
            CpuKernels.denseProjection(Bufs.direct(F), B, P, D, Bufs.direct(W), b == null ? null : Bufs.direct(b), E, Bufs.direct(T), K, tau,
                    l2, a2, s2);
            assertArrayEquals(Bufs.toArray(l2), Bufs.toArray(l1), "logits vs the unprepared kernel");
            assertArrayEquals(Bufs.toArray(s2), Bufs.toArray(s1), "scores vs the unprepared kernel");
            for (int i = 0; i < B * P; i++) assertEquals(a2.get(i), a1.get(i), "label " + i);
            double[] want = Naive.denseProjection(F, B, P, D, W, b == null ? new float[E] : b, E, T, K, tau);
            float[] got = Bufs.toArray(l1);
            for (int i = 0; i < got.length; i++) assertEquals(want[i] / tau, got[i] / tau, 1e-4, "logit/tau " + i);
        }
    }

    @Test
    void checksArgumentsAndRefusesUseAfterClose() {
        FloatBuffer W = Bufs.floats(6);
        assertThrows(IllegalArgumentException.class, () -> DenseHead.prepare(W, null, 2, 4)); // W too small
        assertThrows(IllegalArgumentException.class, () -> DenseHead.prepare(W, Bufs.floats(1), 2, 3));
        DenseHead h = DenseHead.prepare(W, null, 2, 3);
        assertEquals(2, h.embedDim());
        assertEquals(3, h.width());
        assertThrows(IllegalArgumentException.class, () -> h.project(Bufs.floats(5), 1, 2, Bufs.floats(2), 1, 1f, Bufs.floats(2), null, null));
        assertThrows(IllegalArgumentException.class, () -> h.project(Bufs.floats(6), 1, 2, Bufs.floats(2), 1, 1f, null, null, null));
        h.project(Bufs.floats(6), 1, 2, Bufs.floats(2), 1, 1f, Bufs.floats(2), null, null);
        h.close();
        h.close(); // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> h.project(Bufs.floats(6), 1, 2, Bufs.floats(2), 1, 1f, Bufs.floats(2), null, null));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void concurrentProjectionsAgree() throws Exception {
        int P = 300, D = 96, E = 64, K = 9;
        SplittableRandom rng = new SplittableRandom(3);
        float[] F = Bufs.gaussian(rng, P * D, 1), W = Bufs.gaussian(rng, E * D, 0.1), T = Bufs.gaussian(rng, K * E, 1);
        Bufs.unitRows(T, K, E);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (DenseHead head = DenseHead.prepare(Bufs.direct(W), null, E, D)) {
            IntBuffer ref = Bufs.ints(P);
            head.project(Bufs.direct(F), 1, P, Bufs.direct(T), K, 1f, null, ref, null);
            List<Future<IntBuffer>> fs = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                fs.add(pool.submit(() -> {
                    IntBuffer l = Bufs.ints(P);
                    head.project(Bufs.direct(F), 1, P, Bufs.direct(T), K, 1f, null, l, null);
                    return l;
                }));
            }
            for (Future<IntBuffer> f : fs) assertEquals(ref, f.get());
        } finally {
            pool.shutdown();
        }
    }
}
