package org.ovseg.bench;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.ovseg.kernel.CpuKernels;

/**
 * Throughput of the MaskCLIP dense head kernel (ViT-B/16 at 512²: P = 1024, D = 768, E = 512,
 * K = 21, fused argmax) called by 1 and by 2 threads at once, with a native pool of
 * {@code poolThreads} threads. Inputs are shared; each thread writes its own outputs. Run once
 * as is and once with OVSEG_CPU_POOL=serial (one kernel call at a time, the former behaviour).
 *
 * <p>Group {@code mixed}: one thread calls that kernel back to back while another calls a small
 * one (P = 16); the small call's average time shows whether it waits behind the large one (a
 * service's quick request queued behind a slow one), which on a shared, loaded machine is a far
 * clearer signal than throughput.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 3)
public class ConcurrentKernelBench {
    static final int P = 1024, D = 768, E = 512, K = 21;

    @Param({"1", "2"})
    public int poolThreads;

    FloatBuffer features, weight, text;

    @Setup(Level.Trial)
    public void setup() {
        CpuKernels.setThreads(poolThreads);
        features = Data.direct(Data.uniform(1, P * D, 1));
        weight = Data.direct(Data.uniform(2, E * D, 0.05));
        float[] t = Data.uniform(3, K * E, 1);
        Data.unitRows(t, K, E);
        text = Data.direct(t);
    }

    /** Each benchmark thread's outputs (a shared output would be an aliasing error). */
    @State(Scope.Thread)
    public static class Outputs {
        IntBuffer labels = Data.ints(P);
        FloatBuffer scores = Data.floats(P);
    }

    private IntBuffer run(Outputs o, int pixels) {
        CpuKernels.denseProjection(features.duplicate(), 1, pixels, D, weight.duplicate(), null, E, text.duplicate(), K, 100f,
                null, o.labels, o.scores);
        return o.labels;
    }

    private IntBuffer run(Outputs o) {
        return run(o, P);
    }

    @Benchmark
    @Group("mixed")
    @GroupThreads(1)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public IntBuffer mixedLarge(Outputs o) {
        return run(o);
    }

    @Benchmark
    @Group("mixed")
    @GroupThreads(1)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public IntBuffer mixedSmall(Outputs o) {
        return run(o, 16);
    }

    @Benchmark
    @Threads(1)
    public IntBuffer oneCaller(Outputs o) {
        return run(o);
    }

    @Benchmark
    @Threads(2)
    public IntBuffer twoCallers(Outputs o) {
        return run(o);
    }
}
