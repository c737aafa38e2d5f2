package org.ovseg.bundle.builtin;

import java.util.ArrayList;
import java.util.List;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.engine.onnx.OnnxWriter.Attribute;
import org.ovseg.tensor.ElementType;

/**
 * ONNX graphs of a single-head CLIP ViT built from explicit weights: the CaR proposal network
 * ({@code car_cam}: activations, Grad-CAM gradients, attention maps) and the CaR classifier's image
 * tower. Used by the built-in CaR demonstration model, whose weights are set by hand.
 *
 * <p>The gradient is written out as a hand-derived backward pass of the last block, not traced:
 * for each foreground text f (the batch axis of the backward), with h the output of the last
 * block's layer_norm1 (the hooked activation; the residual stream beside it is held fixed, as
 * autograd treats a hooked tensor):
 * <pre>
 * forward   A = softmax(h Wq · (h Wk)ᵀ / √D)   x2 = x1 + A (h Wv) Wo + bo
 *           x3 = x2 + fc2(QuickGELU(fc1(ln2(x2))))   z = normalize(proj(mean_patches ln_post(x3)))
 *           p = softmax(s · z [fg; bg]ᵀ)
 * backward  ∂p_f/∂l_j = p_f (δ_fj − p_j) → ∂z → ∂e = (∂z − z (z·∂z)) / |e| → ∂ȳ = ∂e projᵀ
 *           → ∂y_t = ∂ȳ / P on patch tokens, 0 on the class token → LayerNorm backward
 *           → MLP backward (QuickGELU' = σ(1.702u) + 1.702 u σ(1.702u)(1 − σ(1.702u))) + residual
 *           → attention backward: ∂V = Aᵀ ∂U, ∂S = A ⊙ (∂A − rowsum(∂A ⊙ A)) / √D,
 *             ∂h = ∂S K Wqᵀ + ∂Sᵀ Q Wkᵀ + ∂V Wvᵀ
 * </pre>
 * The same interface as tools/export/export_car.py's traced graph (README-car.md), so the
 * pipeline cannot tell them apart. Tested against finite differences of a naive double-precision
 * forward pass (ClipVitGraphsTest).
 */
final class ClipVitGraphs {
    static final float LN_EPS = 1e-5f;

    /** One pre-norm block, single head of the full width; matrices stored [in, out]. */
    record Block(float[] ln1w, float[] ln1b, float[] wq, float[] bq, float[] wk, float[] bk, float[] wv, float[] bv,
            float[] wo, float[] bo, float[] ln2w, float[] ln2b, float[] fc1, float[] fc1b, float[] fc2, float[] fc2b) {
        int hidden() {
            return fc1b.length;
        }
    }

    /**
     * A ViT: patch convolution [D,3,p,p] (no bias), class embedding [D], ln_pre, blocks, ln_post,
     * projection [D,E], the logit scale used by the Grad-CAM softmax.
     */
    record Vit(int width, int patch, int embed, float[] patchWeight, float[] classEmbedding, float[] lnPreW, float[] lnPreB,
            List<Block> blocks, float[] lnPostW, float[] lnPostB, float[] proj, float logitScale) {}

    private ClipVitGraphs() {}

    /** Names of one block's intermediate values in the graph. */
    private record Trace(String x, String h, String q, String k, String v, String a, String x2, String fh, String out) {}

    /**
     * The CaR proposal graph: inputs pixel_values [1,3,H,W], pos_embed [1,1+P,D], fg_embeds
     * [fg,E], bg_embeds [bg,E]; outputs activations [1,P,D], gradients [fg,1,P,D], attention
     * [n,P,P] (last n = min(8, layers) blocks, class token dropped).
     */
    static byte[] camGraph(Vit m, String name) {
        int D = m.width(), L = m.blocks().size();
        GraphBuilder g = GraphBuilder.create(name).opset(17);
        String px = g.input("pixel_values", ElementType.FLOAT32, 1, 3, "height", "width");
        String pe = g.input("pos_embed", ElementType.FLOAT32, 1, "tokens", D);
        String fg = g.input("fg_embeds", ElementType.FLOAT32, "fg", m.embed());
        String bg = g.input("bg_embeds", ElementType.FLOAT32, "bg", m.embed());

        String x = g.add(g.concat(1, g.initializer("class_embedding", m.classEmbedding(), 1, 1, D), patchTokens(g, m, px, 1)), pe);
        x = layerNorm(g, "ln_pre", x, m.lnPreW(), m.lnPreB());
        List<String> attention = new ArrayList<>();
        Trace last = null;
        for (int b = 0; b < L; b++) {
            last = block(g, "blocks." + b, x, m.blocks().get(b), D);
            if (b >= L - Math.min(8, L)) attention.add(sliceTokens(g, last.a(), 2));
            x = last.out();
        }
        Block w = m.blocks().get(L - 1);
        g.rename(sliceTokens(g, last.h(), 1), "activations");
        g.rename(g.concat(0, attention.toArray(String[]::new)), "attention");

        // Head: ln_post on every token, mean of the patch tokens, projection, unit norm, softmax.
        String y = layerNorm(g, "ln_post", last.out(), m.lnPostW(), m.lnPostB());
        String ybar = g.reduceMean(sliceTokens(g, y, 1), new long[] {1}, false); // [1,D]
        String e = g.matMul(ybar, g.initializer("proj", m.proj(), D, m.embed())); // [1,E]
        String norm = g.sqrt(reduceSum(g, g.mul(e, e), 1)); // [1,1]
        String z = g.div(e, norm);
        String texts = g.concat(0, fg, bg); // [Q,E]
        String p = g.softmax(g.mul(g.matMul(z, g.transpose(texts, 1, 0)), g.scalar(m.logitScale())), -1); // [1,Q]

        // Backward, one copy per foreground text (axis 0 = f).
        String eye = g.node("EyeLike", List.of(g.matMul(fg, g.transpose(texts, 1, 0))), 1).get(0); // [F,Q]
        String pf = reduceSum(g, g.mul(eye, p), 1); // [F,1]
        String dl = g.mul(pf, g.sub(eye, p)); // [F,Q]
        String dz = g.mul(g.matMul(dl, texts), g.scalar(m.logitScale())); // [F,E]
        String zdz = reduceSum(g, g.mul(dz, z), 1); // [F,1]
        String de = g.div(g.sub(dz, g.mul(zdz, z)), norm);
        String dybar = g.matMul(de, g.initializer("proj_t", transpose(m.proj(), D, m.embed()), m.embed(), D)); // [F,D]
        String dy = g.mul(g.unsqueeze(dybar, 1), patchMeanWeights(g, last.out())); // [F,T,D]
        String dx3 = layerNormBackward(g, dy, last.out(), m.lnPostW(), "ln_post");

        // MLP branch (x3 = x2 + fc2(QuickGELU(fc1(ln2(x2))))).
        int H = w.hidden();
        String dG = g.matMul(dx3, g.initializer("fc2_t", transpose(w.fc2(), H, D), D, H));
        String u = last.fh();
        String s = g.sigmoid(g.mul(u, g.scalar(1.702f)));
        String geluPrime = g.add(s, g.mul(g.mul(u, g.scalar(1.702f)), g.mul(s, g.sub(g.scalar(1f), s))));
        String dMin = g.matMul(g.mul(dG, geluPrime), g.initializer("fc1_t", transpose(w.fc1(), D, H), H, D));
        String dx2 = g.add(dx3, layerNormBackward(g, dMin, last.x2(), w.ln2w(), "ln2"));

        // Attention branch (x2 = x1 + (A V) Wo + bo), V = h Wv, A = softmax(Q Kᵀ/√D).
        float scale = (float) (1 / Math.sqrt(D));
        String dU = g.matMul(dx2, g.initializer("wo_t", transpose(w.wo(), D, D), D, D));
        String dA = g.matMul(dU, g.transpose(last.v(), 0, 2, 1)); // [F,T,T]
        String dV = g.matMul(g.transpose(last.a(), 0, 2, 1), dU);
        String dS = g.mul(g.mul(last.a(), g.sub(dA, reduceSum(g, g.mul(dA, last.a()), -1))), g.scalar(scale));
        String dQ = g.matMul(dS, last.k());
        String dK = g.matMul(g.transpose(dS, 0, 2, 1), last.q());
        String dh = g.add(g.add(g.matMul(dQ, g.initializer("wq_t", transpose(w.wq(), D, D), D, D)),
                g.matMul(dK, g.initializer("wk_t", transpose(w.wk(), D, D), D, D))),
                g.matMul(dV, g.initializer("wv_t", transpose(w.wv(), D, D), D, D)));
        g.rename(g.unsqueeze(sliceTokens(g, dh, 1), 1), "gradients");

        g.output("activations", ElementType.FLOAT32, 1, "patches", D);
        g.output("gradients", ElementType.FLOAT32, "fg", 1, "patches", D);
        g.output("attention", ElementType.FLOAT32, Math.min(8, L), "patches", "patches");
        return g.toBytes();
    }

    /**
     * The classifier image tower: pixel_values [N,3,S,S] → image_embeds [N,E] = proj(ln_post(class
     * token after all blocks)); positional embedding [1 + (S/p)², D] baked in.
     */
    static byte[] classifierGraph(Vit m, float[] posEmbed, int tokens, String name) {
        int D = m.width();
        GraphBuilder g = GraphBuilder.create(name).opset(17);
        String px = g.input("pixel_values", ElementType.FLOAT32, "batch", 3, "height", "width");
        String patches = patchTokens(g, m, px, 0);
        String batch = g.slice(g.shape(px), new long[] {0}, new long[] {1}, new long[] {0}, new long[] {1});
        String clsShape = g.concat(0, batch, g.longs(1, D));
        String cls = g.node("Expand", List.of(g.initializer("class_embedding", m.classEmbedding(), 1, 1, D), clsShape), 1).get(0);
        String x = g.add(g.concat(1, cls, patches), g.initializer("pos_embed", posEmbed, 1, tokens, D));
        x = layerNorm(g, "ln_pre", x, m.lnPreW(), m.lnPreB());
        for (int b = 0; b < m.blocks().size(); b++) x = block(g, "blocks." + b, x, m.blocks().get(b), D).out();
        String clsOut = g.squeeze(g.slice(x, new long[] {0}, new long[] {1}, new long[] {1}, new long[] {1}), 1);
        String post = layerNorm(g, "ln_post", clsOut, m.lnPostW(), m.lnPostB());
        g.rename(g.matMul(post, g.initializer("proj", m.proj(), D, m.embed())), "image_embeds");
        g.output("image_embeds", ElementType.FLOAT32, "batch", m.embed());
        return g.toBytes();
    }

    // ---------------------------------------------------------------------------------- pieces

    /** Patch convolution → [B, P, D]; {@code batchDim} 1 for a fixed batch of one, 0 to copy it. */
    private static String patchTokens(GraphBuilder g, Vit m, String px, long batchDim) {
        int D = m.width(), p = m.patch();
        String conv = g.conv(px, g.initializer("patch_embedding.weight", m.patchWeight(), D, 3, p, p), null,
                new long[] {p, p}, new long[] {0, 0, 0, 0});
        return g.transpose(g.reshape(conv, batchDim == 1 ? 1 : 0, D, -1), 0, 2, 1);
    }

    private static Trace block(GraphBuilder g, String n, String x, Block w, int D) {
        int H = w.hidden();
        String h = layerNorm(g, n + ".ln_1", x, w.ln1w(), w.ln1b());
        String q = linear(g, h, g.initializer(n + ".wq", w.wq(), D, D), g.initializer(n + ".bq", w.bq(), D));
        String k = linear(g, h, g.initializer(n + ".wk", w.wk(), D, D), g.initializer(n + ".bk", w.bk(), D));
        String v = linear(g, h, g.initializer(n + ".wv", w.wv(), D, D), g.initializer(n + ".bv", w.bv(), D));
        String a = g.softmax(g.mul(g.matMul(q, g.transpose(k, 0, 2, 1)), g.scalar((float) (1 / Math.sqrt(D)))), -1);
        String o = linear(g, g.matMul(a, v), g.initializer(n + ".wo", w.wo(), D, D), g.initializer(n + ".bo", w.bo(), D));
        String x2 = g.add(x, o);
        String fh = linear(g, layerNorm(g, n + ".ln_2", x2, w.ln2w(), w.ln2b()), g.initializer(n + ".fc1", w.fc1(), D, H),
                g.initializer(n + ".fc1b", w.fc1b(), H));
        String mlp = linear(g, g.quickGelu(fh), g.initializer(n + ".fc2", w.fc2(), H, D), g.initializer(n + ".fc2b", w.fc2b(), D));
        return new Trace(x, h, q, k, v, a, x2, fh, g.add(x2, mlp));
    }

    private static String layerNorm(GraphBuilder g, String name, String x, float[] w, float[] b) {
        return g.layerNorm(x, g.initializer(name + ".weight", w, w.length), g.initializer(name + ".bias", b, b.length), -1, LN_EPS);
    }

    /**
     * LayerNorm backward with respect to its input x (recomputed statistics):
     * dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)), dx̂ = dy ⊙ γ.
     */
    private static String layerNormBackward(GraphBuilder g, String dy, String x, float[] gamma, String name) {
        String mu = g.reduceMean(x, new long[] {-1}, true);
        String xc = g.sub(x, mu);
        String rstd = g.div(g.scalar(1f), g.sqrt(g.add(g.reduceMean(g.mul(xc, xc), new long[] {-1}, true), g.scalar(LN_EPS))));
        String xhat = g.mul(xc, rstd);
        String dxhat = g.mul(dy, g.initializer(name + ".gamma_b", gamma, gamma.length));
        String inner = g.sub(g.sub(dxhat, g.reduceMean(dxhat, new long[] {-1}, true)),
                g.mul(xhat, g.reduceMean(g.mul(dxhat, xhat), new long[] {-1}, true)));
        return g.mul(rstd, inner);
    }

    /** [1, T, 1]: 0 for the class token, 1/P for each patch token (the patch mean's weights). */
    private static String patchMeanWeights(GraphBuilder g, String tokens) {
        String one = g.slice(tokens, new long[] {1, 0}, new long[] {Long.MAX_VALUE, 1}, new long[] {1, 2}, new long[] {1, 1});
        String ones = g.add(g.mul(one, g.scalar(0f)), g.scalar(1f)); // [1,P,1]
        String count = g.node("ReduceSum", List.of(ones, g.longs(0, 1, 2)), 1, Attribute.of("keepdims", 1L)).get(0);
        String zero = g.slice(g.mul(tokens, g.scalar(0f)), new long[] {0, 0}, new long[] {1, 1}, new long[] {1, 2}, new long[] {1, 1});
        return g.div(g.concat(1, zero, ones), count);
    }

    /** Drops the class token along axis 1, and along {@code axes} = 2 also axis 2. */
    private static String sliceTokens(GraphBuilder g, String x, int axes) {
        if (axes == 1) return g.slice(x, new long[] {1}, new long[] {Long.MAX_VALUE}, new long[] {1}, new long[] {1});
        return g.slice(x, new long[] {1, 1}, new long[] {Long.MAX_VALUE, Long.MAX_VALUE}, new long[] {1, 2}, new long[] {1, 1});
    }

    private static String reduceSum(GraphBuilder g, String x, long axis) {
        return g.node("ReduceSum", List.of(x, g.longs(axis)), 1, Attribute.of("keepdims", 1L)).get(0);
    }

    private static String linear(GraphBuilder g, String x, String w, String b) {
        return g.add(g.matMul(x, w), b);
    }

    /** [rows, cols] → [cols, rows]. */
    static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
        return t;
    }
}
