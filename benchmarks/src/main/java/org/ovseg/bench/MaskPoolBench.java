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
import org.ovseg.kernel.MaskMode;

/**
 * ODISE's mask pooling: Q = 100 masks over a 64×64 feature map of C = 768 channels. Soft masks
 * (dense), and hard masks covering 5% and 100% of the pixels (each mask a band of rows, as real
 * masks are spatially coherent), against a naive Java loop and ONNX Runtime's MatMul.
 * Dense-equivalent FLOPs per call: 2·Q·C·HW.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MaskPoolBench {
    @Param({"soft", "hard-5", "hard-100"})
    public String masks;

    static final int Q = 100, C = 768, HW = 64 * 64;
    float[] f, m;
    FloatBuffer F, M, out;
    MaskMode mode;
    OrtFormulations.MaskPool ort;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        f = Data.uniform(4, C * HW, 1);
        if (masks.equals("soft")) {
            m = Data.uniform(5, Q * HW, 4);
            mode = MaskMode.SOFT;
        } else {
            double cover = masks.equals("hard-5") ? 0.05 : 1.0;
            m = new float[Q * HW];
            int band = (int) Math.round(cover * HW);
            for (int q = 0; q < Q; q++) {
                int start = (int) ((long) q * 37 * 64 % Math.max(1, HW - band + 1));
                for (int p = 0; p < HW; p++) m[q * HW + p] = (p >= start && p < start + band) ? 1f : -1f;
            }
            mode = MaskMode.HARD;
        }
        F = Data.direct(f);
        M = Data.direct(m);
        out = Data.floats(Q * C);
        ort = new OrtFormulations.MaskPool(C, Q, HW, mode == MaskMode.HARD);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        ort.close();
    }

    @Benchmark
    public FloatBuffer ovseg() {
        CpuKernels.maskPool(F, M, 1, C, Q, HW, mode, true, out);
        return out;
    }

    @Benchmark
    public float[] onnxRuntimeMatMul() throws Exception {
        return ort.run(F, M);
    }

    @Benchmark
    public float[] naiveJavaLoop() {
        float[] o = new float[Q * C];
        boolean hard = mode == MaskMode.HARD;
        float[] w = new float[HW];
        for (int q = 0; q < Q; q++) {
            float mass = 0;
            for (int p = 0; p < HW; p++) {
                float x = m[q * HW + p];
                w[p] = hard ? (x > 0 ? 1f : 0f) : (float) (1 / (1 + Math.exp(-x)));
                mass += w[p];
            }
            float norm = 0;
            for (int c = 0; c < C; c++) {
                float s = 0;
                for (int p = 0; p < HW; p++) s += w[p] * f[c * HW + p];
                s /= mass + 1e-8f;
                o[q * C + c] = s;
                norm += s * s;
            }
            float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
            for (int c = 0; c < C; c++) o[q * C + c] *= inv;
        }
        return o;
    }
}
