package org.ovseg.bench;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
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
import org.ovseg.kernel.DenseHead;

/**
 * MaskCLIP's dense projection at ViT-B/16 448² (P = 28² = 784 patches, D = 768, E = 512) with
 * K = 21 (VOC) and 171 (COCO-Stuff) classes: the native kernel (fused argmax, and full logits),
 * the same kernel with W packed once ({@link DenseHead}, "prepared"), a naive Java loop, and
 * ONNX Runtime running the same op as MatMul graphs.
 * FLOPs per call: 2·P·D·E + 2·P·E·K.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DenseProjectionBench {
    @Param({"21", "171"})
    public int K;

    static final int P = 784, D = 768, E = 512;
    float[] f, w, t;
    FloatBuffer F, W, T, logits, scores;
    IntBuffer labels;
    OrtFormulations.DenseProjection ort;
    DenseHead head;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        f = Data.uniform(1, P * D, 1);
        w = Data.uniform(2, E * D, 0.05);
        t = Data.uniform(3, K * E, 1);
        Data.unitRows(t, K, E);
        F = Data.direct(f);
        W = Data.direct(w);
        T = Data.direct(t);
        logits = Data.floats(K * P);
        scores = Data.floats(P);
        labels = Data.ints(P);
        ort = new OrtFormulations.DenseProjection(P, D, E, K, w, t, 100f);
        head = DenseHead.prepare(W, null, E, D);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        ort.close();
        head.close();
    }

    @Benchmark
    public IntBuffer ovsegPreparedFusedArgmax() {
        head.project(F, 1, P, T, K, 100f, null, labels, scores);
        return labels;
    }

    @Benchmark
    public FloatBuffer ovsegPreparedFullLogits() {
        head.project(F, 1, P, T, K, 100f, logits, null, null);
        return logits;
    }

    @Benchmark
    public IntBuffer ovsegFusedArgmax() {
        CpuKernels.denseProjection(F, 1, P, D, W, null, E, T, K, 100f, null, labels, scores);
        return labels;
    }

    @Benchmark
    public FloatBuffer ovsegFullLogits() {
        CpuKernels.denseProjection(F, 1, P, D, W, null, E, T, K, 100f, logits, null, null);
        return logits;
    }

    @Benchmark
    public float[] onnxRuntimeMatMul() throws Exception {
        return ort.run(F);
    }

    @Benchmark
    public float[] naiveJavaLoop() {
        float[] out = new float[K * P];
        float[] z = new float[E];
        for (int p = 0; p < P; p++) {
            float norm = 0;
            for (int e = 0; e < E; e++) {
                float s = 0;
                for (int d = 0; d < D; d++) s += w[e * D + d] * f[p * D + d];
                z[e] = s;
                norm += s * s;
            }
            float inv = 100f / (float) Math.max(Math.sqrt(norm), 1e-12);
            for (int k = 0; k < K; k++) {
                float s = 0;
                for (int e = 0; e < E; e++) s += t[k * E + e] * z[e];
                out[k * P + p] = s * inv;
            }
        }
        return out;
    }
}
