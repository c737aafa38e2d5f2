package org.ovseg.bench;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.ovseg.engine.Backend;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.OnnxRuntimeEngine;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.engine.onnx.OnnxWriter.Attribute;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;

/**
 * The three kernel ops written as plain ONNX graphs (MatMul, ReduceSum, Softmax, ...) and run by
 * ONNX Runtime on the CPU, on the same shapes and data as the native kernels: the "what a
 * framework gives you" baseline measured in the same JMH run. Inputs and outputs are allocated
 * once; each call copies the activation into the input tensor and runs.
 */
final class OrtFormulations {
    private OrtFormulations() {}

    private static String reduceSum(GraphBuilder g, String x, long axis) {
        return g.node("ReduceSum", List.of(x, g.longs(axis)), 1, Attribute.of("keepdims", 1L)).get(0);
    }

    private static String l2normalizeRows(GraphBuilder g, String x) {
        String n = g.sqrt(reduceSum(g, g.mul(x, x), -1));
        return g.div(x, g.node("Max", List.of(n, g.scalar(1e-12f)), 1).get(0));
    }

    private abstract static class Runner implements AutoCloseable {
        final OnnxRuntimeEngine engine;
        final Path file;

        Runner(GraphBuilder g) throws IOException {
            file = Files.createTempFile("ovseg-bench", ".onnx");
            g.write(file);
            engine = OnnxRuntimeEngine.open(file, EngineOptions.builder().backend(Backend.CPU).build());
        }

        @Override
        public void close() throws IOException {
            engine.close();
            Files.deleteIfExists(file);
        }
    }

    /** logits[P,K] = tau · normalize(F Wᵀ) Tᵀ */
    static final class DenseProjection extends Runner {
        private final HostTensor f, out;

        DenseProjection(int P, int D, int E, int K, float[] w, float[] t, float tau) throws IOException {
            super(graph(P, D, E, K, w, t, tau));
            f = HostTensor.zeros(ElementType.FLOAT32, P, D);
            out = HostTensor.zeros(ElementType.FLOAT32, P, K);
        }

        private static GraphBuilder graph(int P, int D, int E, int K, float[] w, float[] t, float tau) {
            GraphBuilder g = GraphBuilder.create("dense_projection");
            String F = g.input("F", ElementType.FLOAT32, P, D);
            float[] wt = new float[D * E], tt = new float[E * K];
            for (int e = 0; e < E; e++) for (int d = 0; d < D; d++) wt[d * E + e] = w[e * D + d];
            for (int k = 0; k < K; k++) for (int e = 0; e < E; e++) tt[e * K + k] = t[k * E + e];
            String z = l2normalizeRows(g, g.matMul(F, g.initializer("Wt", wt, D, E)));
            String l = g.mul(g.matMul(z, g.initializer("Tt", tt, E, K)), g.scalar(tau));
            g.rename(l, "logits");
            g.output("logits", ElementType.FLOAT32, P, K);
            return g;
        }

        float[] run(FloatBuffer features) {
            f.floatBuffer().put(0, features, 0, features.limit());
            engine.run(Map.of("F", f), Map.of("logits", out));
            return null;
        }

        @Override
        public void close() throws IOException {
            f.close();
            out.close();
            super.close();
        }
    }

    /** out[Q,C] = normalize((m Fᵀ) / (Σm + 1e-8)), m = sigmoid(M) or (M > 0) */
    static final class MaskPool extends Runner {
        private final HostTensor f, m, out;

        MaskPool(int C, int Q, int HW, boolean hard) throws IOException {
            super(graph(C, Q, HW, hard));
            f = HostTensor.zeros(ElementType.FLOAT32, C, HW);
            m = HostTensor.zeros(ElementType.FLOAT32, Q, HW);
            out = HostTensor.zeros(ElementType.FLOAT32, Q, C);
        }

        private static GraphBuilder graph(int C, int Q, int HW, boolean hard) {
            GraphBuilder g = GraphBuilder.create("mask_pool");
            String F = g.input("F", ElementType.FLOAT32, C, HW);
            String M = g.input("M", ElementType.FLOAT32, Q, HW);
            String w = hard ? g.cast(g.node("Greater", List.of(M, g.scalar(0f)), 1).get(0), ElementType.FLOAT32) : g.sigmoid(M);
            String pooled = g.div(g.matMul(w, g.transpose(F, 1, 0)), g.add(reduceSum(g, w, -1), g.scalar(1e-8f)));
            g.rename(l2normalizeRows(g, pooled), "out");
            g.output("out", ElementType.FLOAT32, Q, C);
            return g;
        }

        float[] run(FloatBuffer features, FloatBuffer masks) {
            f.floatBuffer().put(0, features, 0, features.limit());
            m.floatBuffer().put(0, masks, 0, masks.limit());
            engine.run(Map.of("F", f, "M", m), Map.of("out", out));
            return null;
        }

        @Override
        public void close() throws IOException {
            f.close();
            m.close();
            out.close();
            super.close();
        }
    }

    /** updates[S,dv] = (aᵀ v) / (Σ_n a + eps), a = softmax_s(k qᵀ / √d) */
    static final class SlotAttention extends Runner {
        private final HostTensor q, k, v, out;

        SlotAttention(int S, int N, int d, int dv) throws IOException {
            super(graph(S, N, d, dv));
            q = HostTensor.zeros(ElementType.FLOAT32, S, d);
            k = HostTensor.zeros(ElementType.FLOAT32, N, d);
            v = HostTensor.zeros(ElementType.FLOAT32, N, dv);
            out = HostTensor.zeros(ElementType.FLOAT32, S, dv);
        }

        private static GraphBuilder graph(int S, int N, int d, int dv) {
            GraphBuilder g = GraphBuilder.create("slot_attention");
            String q = g.input("q", ElementType.FLOAT32, S, d);
            String k = g.input("k", ElementType.FLOAT32, N, d);
            String v = g.input("v", ElementType.FLOAT32, N, dv);
            String a = g.softmax(g.mul(g.matMul(k, g.transpose(q, 1, 0)), g.scalar((float) (1 / Math.sqrt(d)))), -1);
            String col = g.add(g.transpose(reduceSum(g, a, 0), 1, 0), g.scalar(1e-6f));
            g.rename(g.div(g.matMul(g.transpose(a, 1, 0), v), col), "updates");
            g.output("updates", ElementType.FLOAT32, S, dv);
            return g;
        }

        float[] run(FloatBuffer qs, FloatBuffer ks, FloatBuffer vs) {
            q.floatBuffer().put(0, qs, 0, qs.limit());
            k.floatBuffer().put(0, ks, 0, ks.limit());
            v.floatBuffer().put(0, vs, 0, vs.limit());
            engine.run(Map.of("q", q, "k", k, "v", v), Map.of("updates", out));
            return null;
        }

        @Override
        public void close() throws IOException {
            q.close();
            k.close();
            v.close();
            out.close();
            super.close();
        }
    }
}
