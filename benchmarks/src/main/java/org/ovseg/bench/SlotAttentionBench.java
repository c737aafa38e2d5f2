package org.ovseg.bench;

import java.nio.FloatBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.ovseg.kernel.CpuKernels;

/**
 * OVSegmentor's slot-attention binding step: N = 784 tokens, S = 8 and 64 slots, d = dv = 256,
 * soft assignment; native kernel, naive Java loop, and ONNX Runtime (MatMul, Softmax, ReduceSum).
 * FLOPs per call: 2·N·S·d + 2·N·S·dv.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SlotAttentionBench {
    @Param({"8", "64"})
    public int S;

    static final int N = 784, d = 256, dv = 256;
    float[] q, k, v;
    FloatBuffer Q, Kb, V, updates, assign;
    OrtFormulations.SlotAttention ort;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        q = Data.uniform(6, S * d, 1);
        k = Data.uniform(7, N * d, 1);
        v = Data.uniform(8, N * dv, 1);
        Q = Data.direct(q);
        Kb = Data.direct(k);
        V = Data.direct(v);
        updates = Data.floats(S * dv);
        assign = Data.floats(N * S);
        ort = new OrtFormulations.SlotAttention(S, N, d, dv);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        ort.close();
    }

    @Benchmark
    public FloatBuffer ovseg() {
        CpuKernels.slotAttention(Q, Kb, V, 1, S, N, d, dv, 0f, 1e-6f, false, updates, assign);
        return updates;
    }

    @Benchmark
    public float[] onnxRuntime() throws Exception {
        return ort.run(Q, Kb, V);
    }

    @Benchmark
    public float[] naiveJavaLoop() {
        float scale = (float) (1 / Math.sqrt(d));
        float[] a = new float[N * S], col = new float[S], u = new float[S * dv];
        for (int n = 0; n < N; n++) {
            float mx = Float.NEGATIVE_INFINITY;
            for (int s = 0; s < S; s++) {
                float l = 0;
                for (int j = 0; j < d; j++) l += q[s * d + j] * k[n * d + j];
                a[n * S + s] = l * scale;
                mx = Math.max(mx, a[n * S + s]);
            }
            float tot = 0;
            for (int s = 0; s < S; s++) tot += a[n * S + s] = (float) Math.exp(a[n * S + s] - mx);
            for (int s = 0; s < S; s++) {
                a[n * S + s] /= tot;
                col[s] += a[n * S + s];
            }
        }
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                float wgt = a[n * S + s] / (col[s] + 1e-6f);
                for (int j = 0; j < dv; j++) u[s * dv + j] += wgt * v[n * dv + j];
            }
        return u;
    }
}
