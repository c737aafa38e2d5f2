package org.ovseg.engine.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.ovseg.tensor.ElementType.FLOAT32;
import static org.ovseg.tensor.ElementType.INT64;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ovseg.engine.Backend;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;

/**
 * Writer-built graphs of the shapes real CLIP exports contain, run by ONNX Runtime and compared
 * with a naive Java evaluation of the same graph (double accumulation). Tolerance: 1e-5 relative
 * plus 1e-5 absolute; fp32 kernels with fused/reordered sums differ from the double reference by
 * a few ulps, far below that.
 */
class OnnxGraphsRuntimeTest {
    private static final double RTOL = 1e-5, ATOL = 1e-5;
    private static final EngineOptions CPU = EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1).build();

    @TempDir
    Path dir;

    private Engine open(GraphBuilder g) throws IOException {
        return Engines.open(g.write(dir.resolve(g.build().graphName() + "-" + g.opset() + ".onnx")), CPU);
    }

    private static float[] runOne(Engine e, String in, HostTensor x, String out) {
        Map<String, HostTensor> r = e.run(Map.of(in, x));
        try {
            return r.get(out).toFloatArray();
        } finally {
            r.values().forEach(HostTensor::close);
        }
    }

    @Test
    void mlpWithLayerNormAndSoftmax() throws IOException {
        int b = 3, d = 8, h = 16, c = 4;
        float[] w1 = Ref.random(1, d * h, 0.5), b1 = Ref.random(2, h, 0.1), s = Ref.random(3, h, 1), lb = Ref.random(4, h, 0.1);
        float[] w2 = Ref.random(5, h * c, 0.5), b2 = Ref.random(6, c, 0.1), x = Ref.random(7, b * d, 1);
        GraphBuilder g = GraphBuilder.create("mlp");
        String in = g.input("x", FLOAT32, "batch", d);
        String t = g.add(g.matMul(in, g.initializer("w1", w1, d, h)), g.initializer("b1", b1, h));
        t = g.layerNorm(t, g.initializer("ln_s", s, h), g.initializer("ln_b", lb, h), -1, 1e-5f);
        String logits = g.add(g.matMul(t, g.initializer("w2", w2, h, c)), g.initializer("b2", b2, c));
        g.rename(g.softmax(logits, -1), "probs");
        g.output("probs", FLOAT32, "batch", c);

        float[] ref = Ref.addRow(Ref.matMul(x, 1, b, d, w1, h), b1);
        ref = Ref.layerNorm(ref, h, s, lb, 1e-5);
        ref = Ref.softmax(Ref.addRow(Ref.matMul(ref, 1, b, h, w2, c), b2), c);
        try (Engine e = open(g); HostTensor xt = HostTensor.of(x, b, d)) {
            assertEquals(-1, e.inputs().get(0).shape()[0]);
            assertEquals("batch", e.inputs().get(0).axisNames().get(0));
            Ref.assertClose(ref, runOne(e, "x", xt, "probs"), RTOL, ATOL);
        }
    }

    @Test
    void attentionBlockWithQuickGelu() throws IOException {
        int t = 5, d = 8, nh = 2, dh = 4, f = 16;
        float[] x = Ref.random(10, t * d, 1);
        float[] wq = Ref.random(11, d * d, 0.4), wk = Ref.random(12, d * d, 0.4), wv = Ref.random(13, d * d, 0.4), wo = Ref.random(14, d * d, 0.4);
        float[] bq = Ref.random(15, d, 0.1), bk = Ref.random(16, d, 0.1), bv = Ref.random(17, d, 0.1), bo = Ref.random(18, d, 0.1);
        float[] lnS = Ref.random(19, d, 1), lnB = Ref.random(20, d, 0.1);
        float[] w1 = Ref.random(21, d * f, 0.4), b1 = Ref.random(22, f, 0.1), w2 = Ref.random(23, f * d, 0.4), b2 = Ref.random(24, d, 0.1);
        float scale = (float) (1 / Math.sqrt(dh));

        GraphBuilder g = GraphBuilder.create("attention");
        String in = g.input("x", FLOAT32, 1, t, d);
        String q = g.add(g.matMul(in, g.initializer("wq", wq, d, d)), g.initializer("bq", bq, d));
        String k = g.add(g.matMul(in, g.initializer("wk", wk, d, d)), g.initializer("bk", bk, d));
        String v = g.add(g.matMul(in, g.initializer("wv", wv, d, d)), g.initializer("bv", bv, d));
        String qh = g.transpose(g.reshape(q, 1, t, nh, dh), 0, 2, 1, 3);
        String kt = g.transpose(g.reshape(k, 1, t, nh, dh), 0, 2, 3, 1);
        String vh = g.transpose(g.reshape(v, 1, t, nh, dh), 0, 2, 1, 3);
        String attn = g.softmax(g.mul(g.matMul(qh, kt), g.scalar(scale)), -1);
        String o = g.reshape(g.transpose(g.matMul(attn, vh), 0, 2, 1, 3), 1, t, d);
        o = g.add(g.matMul(o, g.initializer("wo", wo, d, d)), g.initializer("bo", bo, d));
        String r = g.add(in, o);
        String ln = g.layerNorm(r, g.initializer("ln_s", lnS, d), g.initializer("ln_b", lnB, d), -1, 1e-5f);
        String m = g.quickGelu(g.add(g.matMul(ln, g.initializer("w1", w1, d, f)), g.initializer("b1", b1, f)));
        m = g.add(g.matMul(m, g.initializer("w2", w2, f, d)), g.initializer("b2", b2, d));
        g.rename(g.add(r, m), "y");
        g.output("y", FLOAT32, 1, t, d);

        int[] dims = {1, t, nh, dh};
        float[] rq = Ref.permute(Ref.addRow(Ref.matMul(x, 1, t, d, wq, d), bq), dims, new int[] {0, 2, 1, 3});
        float[] rk = Ref.permute(Ref.addRow(Ref.matMul(x, 1, t, d, wk, d), bk), dims, new int[] {0, 2, 3, 1});
        float[] rv = Ref.permute(Ref.addRow(Ref.matMul(x, 1, t, d, wv, d), bv), dims, new int[] {0, 2, 1, 3});
        float[] ra = Ref.softmax(Ref.scale(Ref.bmm(rq, rk, nh, t, dh, t), scale), t);
        float[] ro = Ref.permute(Ref.bmm(ra, rv, nh, t, t, dh), new int[] {1, nh, t, dh}, new int[] {0, 2, 1, 3});
        ro = Ref.addRow(Ref.matMul(ro, 1, t, d, wo, d), bo);
        float[] rr = Ref.add(x, ro);
        float[] rln = Ref.layerNorm(rr, d, lnS, lnB, 1e-5);
        float[] rm = Ref.quickGelu(Ref.addRow(Ref.matMul(rln, 1, t, d, w1, f), b1));
        float[] ref = Ref.add(rr, Ref.addRow(Ref.matMul(rm, 1, t, f, w2, d), b2));

        try (Engine e = open(g); HostTensor xt = HostTensor.of(x, 1, t, d)) {
            Ref.assertClose(ref, runOne(e, "x", xt, "y"), RTOL, ATOL);
        }
    }

    @Test
    void convPatchEmbeddingWithClassTokenAndPositions() throws IOException {
        int c = 3, hw = 8, p = 4, width = 4, patches = (hw / p) * (hw / p);
        float[] img = Ref.random(30, c * hw * hw, 1), kernel = Ref.random(31, width * c * p * p, 0.3);
        float[] cls = Ref.random(32, width, 0.5), pos = Ref.random(33, (patches + 1) * width, 0.5);
        float[] lnS = Ref.random(34, width, 1), lnB = Ref.random(35, width, 0.1);

        GraphBuilder g = GraphBuilder.create("patch_embed");
        String px = g.input("pixel_values", FLOAT32, 1, c, hw, hw);
        String conv = g.conv(px, g.initializer("patch_w", kernel, width, c, p, p), null, new long[] {p, p}, new long[] {0, 0, 0, 0});
        String tokens = g.transpose(g.reshape(conv, 1, width, patches), 0, 2, 1);
        String seq = g.concat(1, g.initializer("cls", cls, 1, 1, width), tokens);
        seq = g.add(seq, g.initializer("pos", pos, patches + 1, width));
        g.rename(g.layerNorm(seq, g.initializer("ln_s", lnS, width), g.initializer("ln_b", lnB, width), -1, 1e-5f), "embeddings");
        g.output("embeddings", FLOAT32, 1, patches + 1, width);

        float[] conved = Ref.conv(img, c, hw, hw, kernel, width, p, p, p); // [width][patches]
        float[] seqRef = new float[(patches + 1) * width];
        System.arraycopy(cls, 0, seqRef, 0, width);
        for (int i = 0; i < patches; i++)
            for (int ch = 0; ch < width; ch++) seqRef[(i + 1) * width + ch] = conved[ch * patches + i];
        float[] ref = Ref.layerNorm(Ref.add(seqRef, pos), width, lnS, lnB, 1e-5);
        try (Engine e = open(g); HostTensor xt = HostTensor.of(img, 1, c, hw, hw)) {
            Ref.assertClose(ref, runOne(e, "pixel_values", xt, "embeddings"), RTOL, ATOL);
        }
    }

    @Test
    void tokenEmbeddingGatherAndEndTokenPooling() throws IOException {
        int b = 2, t = 6, vocab = 10, d = 4, e = 3;
        long[] ids = {0, 5, 3, 9, 1, 1, 0, 2, 8, 4, 1, 1}; // the end token (highest id) at 3 and 2
        float[] table = Ref.random(40, vocab * d, 1), pos = Ref.random(41, t * d, 0.5), proj = Ref.random(42, d * e, 0.5);
        float[] lnS = Ref.random(43, d, 1), lnB = Ref.random(44, d, 0.1);

        GraphBuilder g = GraphBuilder.create("text_pool");
        String in = g.input("input_ids", INT64, b, t);
        String x = g.add(g.gather(g.initializer("token_embedding", table, vocab, d), in, 0), g.initializer("pos", pos, t, d));
        x = g.layerNorm(x, g.initializer("ln_s", lnS, d), g.initializer("ln_b", lnB, d), -1, 1e-5f);
        String eot = g.rename(g.argMax(in, -1, false), "eot");
        String rows = g.add(eot, g.initializer("row_offsets", new long[] {0, t}, b));
        String pooled = g.gather(g.reshape(x, -1, d), rows, 0);
        g.rename(g.matMul(pooled, g.initializer("proj", proj, d, e)), "text_embeds");
        g.output("text_embeds", FLOAT32, b, e).output("eot", INT64, b);

        float[] emb = new float[b * t * d];
        for (int i = 0; i < b * t; i++)
            for (int j = 0; j < d; j++) emb[i * d + j] = table[(int) ids[i] * d + j] + pos[(i % t) * d + j];
        float[] ln = Ref.layerNorm(emb, d, lnS, lnB, 1e-5);
        long[] eotRef = {3, 2};
        float[] pooledRef = new float[b * d];
        for (int i = 0; i < b; i++) System.arraycopy(ln, (int) ((i * t + eotRef[i]) * d), pooledRef, i * d, d);
        float[] ref = Ref.matMul(pooledRef, 1, b, d, proj, e);

        try (Engine en = open(g); HostTensor idt = HostTensor.of(ids, b, t)) {
            Map<String, HostTensor> r = en.run(Map.of("input_ids", idt));
            try {
                assertArrayEquals(eotRef, r.get("eot").toLongArray());
                Ref.assertClose(ref, r.get("text_embeds").toFloatArray(), RTOL, ATOL);
            } finally {
                r.values().forEach(HostTensor::close);
            }
        }
    }

    @Test
    void castEqualWhere() throws IOException {
        GraphBuilder g = GraphBuilder.create("mask");
        String ids = g.input("ids", INT64, 4);
        String pad = g.equal(ids, g.longs(0));
        g.rename(g.where(pad, g.scalar(-1f), g.cast(ids, ElementType.FLOAT32)), "out");
        g.output("out", FLOAT32, 4);
        try (Engine e = open(g); HostTensor t = HostTensor.of(new long[] {3, 0, 7, 0}, 4)) {
            assertArrayEquals(new float[] {3, -1, 7, -1}, runOne(e, "ids", t, "out"));
        }
    }

    /** ReduceMean changed form at opset 18; Gelu (Erf form) and Resize at every supported opset. */
    @ParameterizedTest
    @ValueSource(ints = {17, 18, 19})
    void reduceMeanGeluResizeAcrossOpsets(int opset) throws IOException {
        int c = 2, h = 3, w = 4;
        float[] x = Ref.random(50 + opset, c * h * w, 2);
        GraphBuilder g = GraphBuilder.create("ops").opset(opset);
        String in = g.input("x", FLOAT32, 1, c, h, w);
        g.rename(g.reduceMean(in, new long[] {2, 3}, true), "mean");
        g.rename(g.gelu(in), "gelu");
        g.rename(g.resize(in, new long[] {1, c, 2 * h, 2 * w}, "linear", "half_pixel"), "up");
        g.output("mean", FLOAT32, 1, c, 1, 1).output("gelu", FLOAT32, 1, c, h, w).output("up", FLOAT32, 1, c, 2 * h, 2 * w);

        float[] mean = new float[c];
        for (int i = 0; i < c; i++) {
            double s = 0;
            for (int j = 0; j < h * w; j++) s += x[i * h * w + j];
            mean[i] = (float) (s / (h * w));
        }
        float[] gelu = new float[x.length];
        for (int i = 0; i < x.length; i++) gelu[i] = (float) (0.5 * x[i] * (1 + erf(x[i] / Math.sqrt(2))));
        float[] up = new float[c * 4 * h * w];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < 2 * h; i++)
                for (int j = 0; j < 2 * w; j++) up[(ch * 2 * h + i) * 2 * w + j] = bilinear(x, ch, h, w, (i + 0.5) / 2 - 0.5, (j + 0.5) / 2 - 0.5);

        try (Engine e = open(g); HostTensor xt = HostTensor.of(x, 1, c, h, w)) {
            Map<String, HostTensor> r = e.run(Map.of("x", xt));
            try {
                Ref.assertClose(mean, r.get("mean").toFloatArray(), RTOL, ATOL);
                Ref.assertClose(gelu, r.get("gelu").toFloatArray(), RTOL, 1e-6);
                Ref.assertClose(up, r.get("up").toFloatArray(), RTOL, ATOL);
            } finally {
                r.values().forEach(HostTensor::close);
            }
        }
    }

    private static float bilinear(float[] x, int ch, int h, int w, double sy, double sx) {
        sy = Math.max(0, Math.min(h - 1, sy));
        sx = Math.max(0, Math.min(w - 1, sx));
        int y0 = (int) Math.floor(sy), x0 = (int) Math.floor(sx);
        int y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
        double fy = sy - y0, fx = sx - x0;
        double a = x[(ch * h + y0) * w + x0], b = x[(ch * h + y0) * w + x1], c = x[(ch * h + y1) * w + x0], d = x[(ch * h + y1) * w + x1];
        return (float) ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy);
    }

    /** erf to ~1e-12 by its Maclaurin series (|x| here stays below 3). */
    private static double erf(double z) {
        double sum = 0, term = z;
        for (int n = 0; n < 200; n++) {
            sum += term / (2 * n + 1);
            term *= -z * z / (n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }
}
