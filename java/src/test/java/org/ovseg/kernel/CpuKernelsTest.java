package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CPU twins against naive double-precision Java loops. Shapes are chosen to hit every loop
 * tail of the native register blocks (rows 4/6/8, columns 8/16/32, depth blocks of 256): sizes
 * of 1, primes past those widths, a depth past one block, and empty dimensions. Tolerance for
 * fp32 sums of up to ~1000 terms of unit-scale data: |got - want| <= 1e-4 * (1 + |want|)
 * (logits: scaled by tau as well). The environment variable OVSEG_CPU_ISA is set by extra
 * Surefire executions so the same tests also run on the AVX2 and generic kernel tables.
 */
class CpuKernelsTest {
    private static void assertClose(double[] want, FloatBuffer got, double tol, String what) {
        float[] g = Bufs.toArray(got);
        assertEquals(want.length, g.length, what + ": length");
        int i = Close.firstMismatch(want, g, tol);
        if (i >= 0) fail(what + ": element " + i + " is " + g[i] + ", want " + want[i] + " (isa " + CpuKernels.isa() + ")");
    }

    /**
     * A table forced through OVSEG_CPU_ISA that this CPU lacks skips the class with the reason (the
     * native library refuses it rather than running another table under its name); an unknown
     * name is a configuration error and fails.
     */
    @BeforeAll
    static void kernelTableUsable() {
        Optional<String> reason = CpuKernels.isaUnavailableReason();
        String forced = System.getenv("OVSEG_CPU_ISA");
        if (reason.isPresent() && TABLES.contains(forced)) {
            Assumptions.abort("kernel table " + forced + " not exercised on this CPU: " + reason.get());
        }
        assertTrue(reason.isEmpty(), () -> reason.get());
    }

    private static final List<String> TABLES = List.of("avx512", "avx2", "generic");

    @Test
    void reportsIsaAndThreads() {
        assertTrue(TABLES.contains(CpuKernels.isa()), CpuKernels.isa());
        assertTrue(CpuKernels.threads() >= 1);
        String forced = System.getenv("OVSEG_CPU_ISA");
        // The forced table and no other: the results below are that table's.
        if (forced != null) assertEquals(forced, CpuKernels.isa());
        System.out.println("CpuKernelsTest: kernel table " + CpuKernels.isa() + (forced == null ? " (widest)" : " (forced)"));
    }

    @ParameterizedTest
    @CsvSource({"1,1,1", "33,17,29", "65,300,77", "512,768,9"})
    void foldMatchesUnfoldedTwoStepProjection(int E, int Dv, int D) {
        SplittableRandom rng = new SplittableRandom(E * 31L + D);
        float[] C = Bufs.gaussian(rng, E * Dv, 0.1), V = Bufs.gaussian(rng, Dv * D, 0.1);
        float[] bc = Bufs.gaussian(rng, E, 1), bv = Bufs.gaussian(rng, Dv, 1), f = Bufs.gaussian(rng, D, 1);
        FloatBuffer W = Bufs.floats(E * D), b = Bufs.floats(E);
        CpuKernels.foldProjection(Bufs.direct(C), Bufs.direct(bc), Bufs.direct(V), Bufs.direct(bv), E, Dv, D, W, b);
        double[] wantB = new double[E];
        assertClose(Naive.fold(C, bc, V, bv, E, Dv, D, wantB), W, 1e-4, "W");
        assertClose(wantB, b, 1e-4, "b");
        // Two steps, unfolded: y = V f + bv, z = C y + bc; the folded map must give the same z.
        double[] y = new double[Dv];
        for (int j = 0; j < Dv; j++) {
            y[j] = bv[j];
            for (int d = 0; d < D; d++) y[j] += (double) V[j * D + d] * f[d];
        }
        float[] w = Bufs.toArray(W), bb = Bufs.toArray(b);
        for (int e = 0; e < E; e++) {
            double z = bc[e], zf = bb[e];
            for (int j = 0; j < Dv; j++) z += C[e * Dv + j] * y[j];
            for (int d = 0; d < D; d++) zf += (double) w[e * D + d] * f[d];
            assertEquals(z, zf, 1e-3 * (1 + Math.abs(z)), "row " + e);
        }
    }

    @Test
    void foldTreatsMissingBiasesAsZero() {
        SplittableRandom rng = new SplittableRandom(7);
        float[] C = Bufs.gaussian(rng, 3 * 4, 1), V = Bufs.gaussian(rng, 4 * 5, 1);
        FloatBuffer W = Bufs.floats(15), b = Bufs.floats(3);
        CpuKernels.foldProjection(Bufs.direct(C), null, Bufs.direct(V), null, 3, 4, 5, W, b);
        assertClose(new double[3], b, 0, "b");
    }

    @ParameterizedTest
    @CsvSource({"1,1,1,1,1", "2,97,77,33,5", "1,130,300,65,21", "1,64,257,512,3", "3,65,8,7,40", "1,5,3,2,1"})
    void denseProjectionMatchesNaive(int B, int P, int D, int E, int K) {
        SplittableRandom rng = new SplittableRandom(B * 1000L + P * 10L + K);
        float[] F = Bufs.gaussian(rng, B * P * D, 1), W = Bufs.gaussian(rng, E * D, 0.1);
        float[] bias = Bufs.gaussian(rng, E, 0.5), T = Bufs.gaussian(rng, K * E, 1);
        Bufs.unitRows(T, K, E);
        float tau = 100f;
        double[] want = Naive.denseProjection(F, B, P, D, W, bias, E, T, K, tau);
        FloatBuffer logits = Bufs.floats(B * K * P), scores = Bufs.floats(B * P);
        IntBuffer labels = Bufs.ints(B * P);
        CpuKernels.denseProjection(Bufs.direct(F), B, P, D, Bufs.direct(W), Bufs.direct(bias), E, Bufs.direct(T), K, tau,
                logits, labels, scores);
        double[] scaled = Arrays.stream(want).map(x -> x / tau).toArray();
        float[] got = Bufs.toArray(logits);
        for (int i = 0; i < got.length; i++) got[i] /= tau;
        assertClose(scaled, Bufs.direct(got), 1e-4, "logits/tau");

        // Fused mode alone (no [K,P] tensor) gives the same labels and scores as full mode.
        FloatBuffer scores2 = Bufs.floats(B * P);
        IntBuffer labels2 = Bufs.ints(B * P);
        CpuKernels.denseProjection(Bufs.direct(F), B, P, D, Bufs.direct(W), Bufs.direct(bias), E, Bufs.direct(T), K, tau,
                null, labels2, scores2);
        for (int b = 0; b < B; b++) {
            for (int p = 0; p < P; p++) {
                int best = 0;
                double second = Double.NEGATIVE_INFINITY;
                for (int k = 1; k < K; k++) if (want[(b * K + k) * P + p] > want[(b * K + best) * P + p]) best = k;
                for (int k = 0; k < K; k++) if (k != best) second = Math.max(second, want[(b * K + k) * P + p]);
                int i = b * P + p;
                assertEquals(labels.get(i), labels2.get(i), "fused label at " + i);
                assertEquals(scores.get(i), scores2.get(i), "fused score at " + i);
                if (want[(b * K + best) * P + p] - second > 1e-3) {
                    assertEquals(best, labels.get(i), "label at " + i);
                }
                assertEquals(want[(b * K + labels.get(i)) * P + p], scores.get(i), 1e-4 * (tau + Math.abs(scores.get(i))));
            }
        }
    }

    @Test
    void denseProjectionWithoutClassesLabelsEverythingUnassigned() {
        FloatBuffer scores = Bufs.floats(6);
        IntBuffer labels = Bufs.ints(6);
        CpuKernels.denseProjection(Bufs.direct(new float[6 * 4]), 2, 3, 4, Bufs.direct(new float[8]), null, 2,
                Bufs.floats(0), 0, 1f, null, labels, scores);
        for (int i = 0; i < 6; i++) {
            assertEquals(-1, labels.get(i));
            assertEquals(Float.NEGATIVE_INFINITY, scores.get(i));
        }
    }

    @Test
    void denseProjectionOfZeroFeatureIsZeroNotNaN() {
        // z = 0 has no direction; normalize(0) = 0 as torch's F.normalize gives, so logits are 0.
        FloatBuffer logits = Bufs.floats(2);
        CpuKernels.denseProjection(Bufs.direct(new float[3]), 1, 1, 3, Bufs.direct(new float[2 * 3]), null, 2,
                Bufs.direct(new float[] {1, 0, 0, 1}), 2, 100f, logits, null, null);
        assertEquals(0f, logits.get(0));
        assertEquals(0f, logits.get(1));
    }

    @ParameterizedTest
    @CsvSource({"1,1,1,1", "1,37,7,97", "2,65,33,300", "1,5,0,10", "1,768,3,4099", "2,3,4,0"})
    void maskPoolMatchesNaive(int B, int C, int Q, int HW) {
        SplittableRandom rng = new SplittableRandom(C * 7L + Q * 3L + HW);
        float[] F = Bufs.gaussian(rng, B * C * HW, 1), M = Bufs.gaussian(rng, B * Q * HW, 2);
        for (MaskMode mode : MaskMode.values()) {
            for (boolean normalize : new boolean[] {false, true}) {
                FloatBuffer out = Bufs.floats(B * Q * C);
                CpuKernels.maskPool(Bufs.direct(F), Bufs.direct(M), B, C, Q, HW, mode, normalize, out);
                assertClose(Naive.maskPool(F, M, B, C, Q, HW, mode == MaskMode.HARD, normalize), out, 1e-4,
                        mode + " normalize=" + normalize);
            }
        }
    }

    @Test
    void sparseAndDenseHardMasksTakeTheirOwnPathsAndAgree() {
        // Bands covering ~5% (run sums) and ~60% (dense product) of the pixels.
        int C = 33, Q = 9, HW = 997;
        SplittableRandom rng = new SplittableRandom(11);
        float[] F = Bufs.gaussian(rng, C * HW, 1);
        for (double cover : new double[] {0.05, 0.6}) {
            float[] M = new float[Q * HW];
            int band = (int) (cover * HW);
            for (int q = 0; q < Q; q++) {
                int start = rng.nextInt(HW - band);
                for (int p = 0; p < HW; p++) M[q * HW + p] = p >= start && p < start + band ? 1f : -1f;
            }
            FloatBuffer out = Bufs.floats(Q * C);
            CpuKernels.maskPool(Bufs.direct(F), Bufs.direct(M), 1, C, Q, HW, MaskMode.HARD, false, out);
            assertClose(Naive.maskPool(F, M, 1, C, Q, HW, true, false), out, 1e-4, "cover " + cover);
        }
    }

    @Test
    void hardMaskEdgeCases() {
        int C = 3, HW = 5;
        float[] F = {1, 2, 3, 4, 5, /* */ 0, 0, 0, 0, 10, /* */ -1, -1, -1, -1, -1};
        // empty mask, full mask, exactly-zero logits (outside), one pixel
        float[] M = {-1, -1, -1, -1, -1, /* */ 1, 1, 1, 1, 1, /* */ 0, 0, 0, 0, 0, /* */ -3, -3, -3, -3, 0.5f};
        FloatBuffer out = Bufs.floats(4 * C);
        CpuKernels.maskPool(Bufs.direct(F), Bufs.direct(M), 1, C, 4, HW, MaskMode.HARD, false, out);
        float[] g = Bufs.toArray(out);
        assertEquals(0f, g[0]);
        assertEquals(0f, g[1]);
        assertEquals(0f, g[2]);
        assertEquals(3f, g[3], 1e-6);
        assertEquals(2f, g[4], 1e-6);
        assertEquals(-1f, g[5], 1e-6);
        for (int c = 0; c < C; c++) assertEquals(0f, g[6 + c]);
        assertEquals(5f, g[9], 1e-6);
        assertEquals(10f, g[10], 1e-6);
    }

    @ParameterizedTest
    @CsvSource({"1,1,1,1,1", "1,7,113,33,17", "2,64,300,64,65", "1,8,784,256,256", "1,3,1,5,2", "1,9,0,4,4"})
    void slotAttentionMatchesNaive(int B, int S, int N, int d, int dv) {
        SplittableRandom rng = new SplittableRandom(S * 100L + N);
        float[] q = Bufs.gaussian(rng, B * S * d, 1), k = Bufs.gaussian(rng, B * N * d, 1), v = Bufs.gaussian(rng, B * N * dv, 1);
        for (boolean hard : new boolean[] {false, true}) {
            FloatBuffer upd = Bufs.floats(B * S * dv), assign = Bufs.floats(B * N * S);
            CpuKernels.slotAttention(Bufs.direct(q), Bufs.direct(k), Bufs.direct(v), B, S, N, d, dv, 0f, 1e-6f, hard, upd, assign);
            double[] wantA = new double[B * N * S];
            double[] want = Naive.slotAttention(q, k, v, B, S, N, d, dv, 1 / Math.sqrt(d), 1e-6, hard, wantA);
            assertClose(wantA, assign, 1e-5, "assign hard=" + hard);
            assertClose(want, upd, 1e-4, "updates hard=" + hard);
        }
    }

    @Test
    void slotAttentionBreaksTiesTowardTheFirstSlotAndSingleSlotAveragesTokens() {
        // Two identical slots: every token ties; hard mode gives all to slot 0, slot 1 gets nothing.
        float[] q = {1, 0, 1, 0}, k = {1, 0, 0, 1, 2, 2}, v = {1, 10, 100};
        FloatBuffer upd = Bufs.floats(2), assign = Bufs.floats(6);
        CpuKernels.slotAttention(Bufs.direct(q), Bufs.direct(k), Bufs.direct(v), 1, 2, 3, 2, 1, 0f, 0f, true, upd, assign);
        assertEquals(37f, upd.get(0), 1e-4);
        assertEquals(0f, upd.get(1));
        for (int n = 0; n < 3; n++) {
            assertEquals(1f, assign.get(2 * n));
            assertEquals(0f, assign.get(2 * n + 1));
        }
        FloatBuffer one = Bufs.floats(1);
        CpuKernels.slotAttention(Bufs.direct(new float[] {3, -1}), Bufs.direct(k), Bufs.direct(v), 1, 1, 3, 2, 1, 0.5f, 0f, false, one, null);
        assertEquals(37f, one.get(0), 1e-4);
    }

    @Test
    void rejectsBadArgumentsWithClearMessages() {
        FloatBuffer small = Bufs.floats(3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                CpuKernels.maskPool(small, small, 1, 2, 2, 2, MaskMode.SOFT, false, Bufs.floats(4)));
        assertTrue(e.getMessage().contains("F holds 3 elements, needs 4"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () ->
                CpuKernels.maskPool(FloatBuffer.wrap(new float[4]), Bufs.floats(4), 1, 2, 2, 2, MaskMode.SOFT, false, Bufs.floats(4)));
        assertTrue(e.getMessage().contains("direct"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () ->
                CpuKernels.slotAttention(small, small, small, 1, -1, 1, 1, 1, 0f, 0f, false, small, null));
        assertTrue(e.getMessage().contains("negative size"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () ->
                CpuKernels.denseProjection(small, 1, 1, 1, small, null, 1, small, 1, 1f, null, null, null));
        assertThrows(ArithmeticException.class, () ->
                CpuKernels.maskPool(small, small, Integer.MAX_VALUE, Integer.MAX_VALUE, 4, 4, MaskMode.SOFT, false, small));
    }

    @Test
    void honoursBufferPosition() {
        // Buffers are read from their position, so a caller can pass a slice of a larger arena.
        ByteBuffer arena = ByteBuffer.allocateDirect(64 * 4).order(java.nio.ByteOrder.nativeOrder());
        FloatBuffer all = arena.asFloatBuffer();
        for (int i = 0; i < 64; i++) all.put(i, i);
        FloatBuffer F = all.duplicate().position(10);
        FloatBuffer M = Bufs.direct(new float[] {1, 1});
        FloatBuffer out = Bufs.floats(1);
        CpuKernels.maskPool(F, M, 1, 1, 1, 2, MaskMode.HARD, false, out);
        assertEquals(10.5f, out.get(0), 1e-6);
    }

    @ParameterizedTest(name = "matmul M={0} N={1} K={2} transposed={3}")
    // Rows 1, 7, 13 end on a row tail after full 6- or 8-row blocks, 131 runs past one packed
    // block of rows (96 or 128); columns 5, 9, 21, 33 end on the narrow 8- and 16-wide blocks and
    // one past 32; depths 257 and 600 run past one 256-deep block; K = 0 must write zeros.
    @CsvSource({"1,1,1,false", "1,1,1,true", "7,5,3,false", "7,5,3,true", "13,9,257,false", "13,9,257,true",
            "131,21,40,false", "131,21,40,true", "64,33,600,false", "64,33,600,true", "97,100,65,true",
            "3,4,0,false", "0,4,3,true", "150,700,100,true"})
    void matmulMatchesNaive(int M, int N, int K, boolean transposed) {
        SplittableRandom rng = new SplittableRandom(M * 31L + N * 7L + K + (transposed ? 1 : 0));
        float[] a = Bufs.gaussian(rng, M * K, 1), b = Bufs.gaussian(rng, K * N, 1);
        double[] want = new double[M * N];
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double s = 0;
                for (int k = 0; k < K; k++) s += (double) a[m * K + k] * (transposed ? b[n * K + k] : b[k * N + n]);
                want[m * N + n] = s;
            }
        FloatBuffer C = Bufs.floats(M * N);
        for (int i = 0; i < M * N; i++) C.put(i, Float.NaN);  // stale contents must be overwritten
        CpuKernels.matmul(Bufs.direct(a), Bufs.direct(b), M, N, K, transposed, C);
        assertClose(want, C, 1e-4, "matmul");
    }

    @Test
    void matmulRejectsBadOperands() {
        FloatBuffer a = Bufs.floats(6), b = Bufs.floats(6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                CpuKernels.matmul(a, Bufs.floats(5), 2, 3, 2, false, Bufs.floats(6)));
        assertTrue(e.getMessage().contains("matmul: B holds 5 elements, needs 6"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CpuKernels.matmul(a, b, 2, 3, 2, true, a));
        assertTrue(e.getMessage().contains("output C shares memory with input A"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CpuKernels.matmul(a, b, -1, 3, 2, false, Bufs.floats(6)));
        assertTrue(e.getMessage().contains("negative size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CpuKernels.matmul(null, b, 2, 3, 2, false, Bufs.floats(6)));
        assertTrue(e.getMessage().contains("A is null"), e.getMessage());
        // int sizes cannot overflow the long element counts; the buffers are then too small.
        e = assertThrows(IllegalArgumentException.class, () ->
                CpuKernels.matmul(a, b, Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, false, Bufs.floats(6)));
        assertTrue(e.getMessage().contains("needs 4611686014132420609"), e.getMessage());
    }
}
