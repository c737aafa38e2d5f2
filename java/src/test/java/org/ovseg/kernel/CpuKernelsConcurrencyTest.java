package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many Java threads calling the CPU kernels at once (the native pool lends its idle workers to
 * concurrent calls instead of queueing them): every result must be bit-identical to the same
 * call made alone, for a thread count above this machine's cores so calls compete for workers.
 */
class CpuKernelsConcurrencyTest {
    @AfterEach
    void restoreThreads() {
        CpuKernels.setThreads(0);
    }

    /** One kernel call with fixed inputs; returns its outputs as one float array. */
    private interface Call {
        float[] run();
    }

    private static Call denseProjection(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int P = 257, D = 64, E = 48, K = 11;
        float[] F = Bufs.gaussian(rng, P * D, 1), W = Bufs.gaussian(rng, E * D, 0.2), T = Bufs.gaussian(rng, K * E, 1);
        return () -> {
            FloatBuffer logits = Bufs.floats(K * P), scores = Bufs.floats(P);
            IntBuffer labels = Bufs.ints(P);
            CpuKernels.denseProjection(Bufs.direct(F), 1, P, D, Bufs.direct(W), null, E, Bufs.direct(T), K, 30f, logits, labels, scores);
            float[] out = new float[K * P + 2 * P];
            System.arraycopy(Bufs.toArray(logits), 0, out, 0, K * P);
            System.arraycopy(Bufs.toArray(scores), 0, out, K * P, P);
            for (int p = 0; p < P; p++) out[K * P + P + p] = labels.get(p);
            return out;
        };
    }

    private static Call maskPool(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int C = 70, Q = 9, HW = 333;
        float[] F = Bufs.gaussian(rng, C * HW, 1), M = Bufs.gaussian(rng, Q * HW, 2);
        return () -> {
            FloatBuffer out = Bufs.floats(Q * C);
            CpuKernels.maskPool(Bufs.direct(F), Bufs.direct(M), 1, C, Q, HW, MaskMode.SOFT, true, out);
            return Bufs.toArray(out);
        };
    }

    private static Call slotAttention(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int S = 6, N = 600, d = 24, dv = 16;
        float[] q = Bufs.gaussian(rng, S * d, 1), k = Bufs.gaussian(rng, N * d, 1), v = Bufs.gaussian(rng, N * dv, 1);
        return () -> {
            FloatBuffer updates = Bufs.floats(S * dv);
            CpuKernels.slotAttention(Bufs.direct(q), Bufs.direct(k), Bufs.direct(v), 1, S, N, d, dv, 0f, 1e-6f, false, updates, null);
            return Bufs.toArray(updates);
        };
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void concurrentCallsMatchTheSameCallsAlone() throws Exception {
        CpuKernels.setThreads(4);
        List<Call> calls = List.of(denseProjection(1), maskPool(2), slotAttention(3));
        List<float[]> alone = new ArrayList<>();
        for (Call c : calls) alone.add(c.run());
        // Bit equality treats NaN as equal to NaN: the reference itself must be all numbers.
        for (float[] a : alone) for (float x : a) assertTrue(Float.isFinite(x), "non-finite reference output");
        int threads = 6, rounds = 20;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                done.add(pool.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        int which = (id + r) % calls.size();
                        assertArrayEquals(alone.get(which), calls.get(which).run(), "call " + which + ", thread " + id + ", round " + r);
                    }
                    return rounds;
                }));
            }
            int total = 0;
            for (Future<Integer> f : done) total += f.get();
            assertEquals(threads * rounds, total);
        } finally {
            pool.shutdownNow();
        }
    }
}
