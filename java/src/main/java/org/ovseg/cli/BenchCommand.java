package org.ovseg.cli;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.kernel.MaskMode;

/**
 * {@code ovseg bench kernels}: a quick look at the CPU kernels at the design's representative
 * shapes (median of repeated runs, FLOP rate). The figures of record come from the JMH suite in
 * benchmarks/, which also measures the baselines side by side.
 */
final class BenchCommand implements Main.Command {
    @Override
    public String summary() {
        return "time the CPU kernels at representative shapes (quick; JMH in benchmarks/ is the reference)";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        if (Main.wantsHelp(argv)) {
            out.println("usage: ovseg bench kernels [--reps N]");
            return 0;
        }
        Args a = Args.parse(argv, 1, Set.of("reps"), Set.of());
        if (a.positional().size() != 1 || !a.positional().get(0).equals("kernels")) {
            throw new UsageException("usage: ovseg bench kernels [--reps N]");
        }
        int reps = a.intValue("reps", 20, 1, 100000);
        out.printf("cpu isa %s, %d threads, median of %d runs%n", CpuKernels.isa(), CpuKernels.threads(), reps);
        SplittableRandom rng = new SplittableRandom(1);
        for (int K : new int[] {21, 171}) {
            int P = 784, D = 768, E = 512;
            FloatBuffer F = random(rng, P * D), W = random(rng, E * D), T = random(rng, K * E);
            IntBuffer labels = ByteBuffer.allocateDirect(P * 4).order(ByteOrder.nativeOrder()).asIntBuffer();
            FloatBuffer scores = random(rng, P);
            double flops = 2.0 * P * D * E + 2.0 * P * E * K;
            report(out, "dense projection P=784 D=768 E=512 K=" + K + " (fused argmax)", flops, reps, () -> time(() ->
                    CpuKernels.denseProjection(F, 1, P, D, W, null, E, T, K, 100f, null, labels, scores)));
        }
        {
            int Q = 100, C = 768, HW = 64 * 64;
            FloatBuffer F = random(rng, C * HW), M = random(rng, Q * HW), o = random(rng, Q * C);
            report(out, "mask pool soft Q=100 C=768 64x64", 2.0 * Q * C * HW, reps, () -> time(() ->
                    CpuKernels.maskPool(F, M, 1, C, Q, HW, MaskMode.SOFT, true, o)));
            FloatBuffer sparse = ByteBuffer.allocateDirect(Q * HW * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
            for (int i = 0; i < Q * HW; i++) sparse.put(i, (i % HW) < HW / 20 ? 1f : -1f);
            report(out, "mask pool hard, 5% coverage", 2.0 * Q * C * HW, reps, () -> time(() ->
                    CpuKernels.maskPool(F, sparse, 1, C, Q, HW, MaskMode.HARD, true, o)));
        }
        for (int S : new int[] {8, 64}) {
            int N = 784, d = 256;
            FloatBuffer q = random(rng, S * d), k = random(rng, N * d), v = random(rng, N * d);
            FloatBuffer u = random(rng, S * d), as = random(rng, N * S);
            report(out, "slot attention N=784 S=" + S + " d=dv=256", 4.0 * N * S * d, reps, () -> time(() ->
                    CpuKernels.slotAttention(q, k, v, 1, S, N, d, d, 0f, 1e-6f, false, u, as)));
        }
        return 0;
    }

    private static void report(PrintStream out, String name, double flops, int reps, LongSupplier once) {
        for (int i = 0; i < Math.min(5, reps); i++) once.getAsLong();
        long[] t = new long[reps];
        for (int i = 0; i < reps; i++) t[i] = once.getAsLong();
        Arrays.sort(t);
        double ms = t[reps / 2] / 1e6;
        out.printf("  %-58s %9.3f ms  %7.1f GFLOP/s (dense-equivalent)%n", name, ms, flops / (ms * 1e6));
    }

    private static long time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return System.nanoTime() - t0;
    }

    private static FloatBuffer random(SplittableRandom rng, int n) {
        FloatBuffer b = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < n; i++) b.put(i, (float) (rng.nextDouble() * 2 - 1));
        return b;
    }
}
