package org.ovseg.pipeline.maskclip;

import java.util.List;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.engine.onnx.OnnxWriter.Attribute;
import org.ovseg.tensor.ElementType;

/**
 * The last block of CLIP's vision tower as each MaskCLIP-family method runs it, written as a
 * small ONNX graph at load time from the bundle's {@link LastBlock} arrays (so one bundle serves
 * every method, and ONNX Runtime's matrix products do the work). Input {@code x} [1, T, D] is the
 * last block's input (class token first); output {@code features} [1, P', D] the patch rows after
 * ln_post, ready for the dense head (projection and cosine). Formulas with references to the
 * official code: FAMILY.md.
 */
final class FamilyGraphs {
    static final String X = "x", BIAS = "attn_bias", DINO = "dino", RESAMPLE = "resample", FEATURES = "features";

    /** ProxyCLIP's defaults (ProxyCLIPSegmentation.__init__: beta=1.2, gamma=3.0). */
    static final float PROXY_BETA = 1.2f, PROXY_GAMMA = 3.0f;

    private FamilyGraphs() {}

    /**
     * @param dinoWidth channels of the DINO features (ProxyCLIP only)
     * @return the ONNX model bytes
     */
    static byte[] build(FamilyMethod method, LastBlock w, int dinoWidth) {
        if (method == FamilyMethod.MASKCLIP) throw new IllegalArgumentException("MaskCLIP runs the exported graph");
        int D = w.width();
        GraphBuilder g = GraphBuilder.create("ovseg_" + method.cliName() + "_last_block").opset(17);
        String x = g.input(X, ElementType.FLOAT32, 1, "tokens", D);
        String h = g.layerNorm(x, g.initializer("ln_1.weight", w.ln1w(), D), g.initializer("ln_1.bias", w.ln1b(), D), -1, w.eps());
        String v = linear(g, "v", h, w.wv(), w.bv(), D, D);
        float scale = (float) (1 / Math.sqrt((double) D / w.heads()));
        String out;
        switch (method) {
            case SCLIP -> {
                String q = heads(g, linear(g, "q", h, w.wq(), w.bq(), D, D), w.heads(), D);
                String k = heads(g, linear(g, "k", h, w.wk(), w.bk(), D, D), w.heads(), D);
                String a = g.add(selfSoftmax(g, q, scale, null), selfSoftmax(g, k, scale, null));
                String x2 = g.add(x, linear(g, "out", merge(g, g.matMul(a, heads(g, v, w.heads(), D)), D), w.wo(), w.bo(), D, D));
                String f = linear(g, "fc1", g.layerNorm(x2, g.initializer("ln_2.weight", w.ln2w(), D),
                        g.initializer("ln_2.bias", w.ln2b(), D), -1, w.eps()), w.fc1(), w.fc1b(), w.hidden(), D);
                f = w.exactGelu() ? g.gelu(f) : g.quickGelu(f);
                out = dropClass(g, g.add(x2, linear(g, "fc2", f, w.fc2(), w.fc2b(), D, w.hidden())));
            }
            case CLEARCLIP, NACLIP -> {
                boolean na = method == FamilyMethod.NACLIP;
                String bias = na ? g.input(BIAS, ElementType.FLOAT32, "tokens", "tokens") : null;
                String s = na ? heads(g, linear(g, "k", h, w.wk(), w.bk(), D, D), w.heads(), D)
                        : heads(g, linear(g, "q", h, w.wq(), w.bq(), D, D), w.heads(), D);
                String a = selfSoftmax(g, s, scale, bias);
                out = dropClass(g, linear(g, "out", merge(g, g.matMul(a, heads(g, v, w.heads(), D)), D), w.wo(), w.bo(), D, D));
            }
            case PROXYCLIP -> {
                String dino = g.input(DINO, ElementType.FLOAT32, 1, "proxy", dinoWidth);
                String resample = g.input(RESAMPLE, ElementType.FLOAT32, "proxy", "patches");
                // F.normalize(dim=channels): x / max(|x|, 1e-12)
                String norm = g.sqrt(g.node("ReduceSum", List.of(g.mul(dino, dino), g.longs(-1)), 1, Attribute.of("keepdims", 1L)).get(0));
                String dn = g.div(dino, g.node("Max", List.of(norm, g.scalar(1e-12f)), 1).get(0));
                String sim = g.matMul(dn, g.transpose(dn, 0, 2, 1));
                String mean = g.reduceMean(sim, new long[] {1, 2}, true);
                String s = g.mul(g.sub(sim, g.mul(mean, g.scalar(PROXY_BETA))), g.scalar(PROXY_GAMMA));
                String neg = g.node("Less", List.of(s, g.scalar(0f)), 1).get(0);
                String a = g.softmax(g.where(neg, g.scalar(Float.NEGATIVE_INFINITY), s), -1);
                // one attention for all heads: A·(R·v) per head is A·R·v on the concatenated heads
                String vp = g.matMul(resample, dropClass(g, v));
                out = linear(g, "out", g.matMul(a, vp), w.wo(), w.bo(), D, D);
            }
            default -> throw new IllegalStateException(method.toString());
        }
        String f = g.layerNorm(out, g.initializer("ln_post.weight", w.postW(), D), g.initializer("ln_post.bias", w.postB(), D), -1, w.eps());
        g.rename(f, FEATURES);
        g.output(FEATURES, ElementType.FLOAT32, 1, "patches", D);
        return g.toBytes();
    }

    /** x·Wᵀ + b for a torch Linear weight W [out, in]. */
    private static String linear(GraphBuilder g, String name, String x, float[] W, float[] b, int out, int in) {
        float[] t = new float[in * out];
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) t[i * out + o] = W[o * in + i];
        return g.add(g.matMul(x, g.initializer(name + ".weight_t", t, in, out)), g.initializer(name + ".bias", b, out));
    }

    /** [1, T, D] → [1, heads, T, D/heads]. */
    private static String heads(GraphBuilder g, String t, int heads, int D) {
        return g.transpose(g.reshape(t, 1, -1, heads, D / heads), 0, 2, 1, 3);
    }

    /** [1, heads, T, d] → [1, T, D]. */
    private static String merge(GraphBuilder g, String t, int D) {
        return g.reshape(g.transpose(t, 0, 2, 1, 3), 1, -1, D);
    }

    /** softmax(s sᵀ · scale (+ bias)) over the last axis, per head. */
    private static String selfSoftmax(GraphBuilder g, String s, float scale, String bias) {
        String logits = g.mul(g.matMul(s, g.transpose(s, 0, 1, 3, 2)), g.scalar(scale));
        if (bias != null) logits = g.add(logits, bias);
        return g.softmax(logits, -1);
    }

    private static String dropClass(GraphBuilder g, String t) {
        return g.slice(t, new long[] {1}, new long[] {Long.MAX_VALUE}, new long[] {1}, new long[] {1});
    }
}
