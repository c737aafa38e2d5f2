package org.ovseg.bundle.builtin;

import java.util.List;
import java.util.SplittableRandom;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.engine.onnx.OnnxWriter.Attribute;
import org.ovseg.tensor.ElementType;
import org.ovseg.text.ClipTokenizer;

/**
 * The networks of the built-in demonstration model {@code builtin:colour-world}: a CLIP ViT image
 * encoder (patch embedding, transformer blocks, ln_post, projection) exported as MaskCLIP's dense
 * graph, and a causal CLIP text transformer with end-token pooling — CLIP's architecture and
 * interfaces, with weights set by hand rather than trained, so that a region of pure colour is
 * recognised by its colour word.
 *
 * <p>How the weights make that happen:
 * <ul>
 *   <li>Image: the patch convolution averages each channel over the patch and, with a constant
 *       folded into the positional embedding (bicubic resizing keeps constants), yields
 *       r = mean colour − ½ in dims 0–2 and −r in dims 3–5, zero elsewhere. Every LayerNorm then
 *       only rescales (the features have zero mean), the attention and MLP branches write only
 *       zero-mean copies into dims 16–21, and the head reads dims 0–2: the dense embedding points
 *       along r, i.e. towards the nearest corner of the RGB cube.
 *   <li>Text: each colour word's token embedding carries its corner's sign pattern s ∈ {±1}³
 *       (and −s, and a flag); every other token carries a zero-mean pattern of the same norm in
 *       other dims. One causal attention head lets every position attend to the colour tokens
 *       before it (score 20 on the flag), so the end token's state gains s; the projection reads
 *       s into embedding dims 0–2. A prompt holding several colour words averages their
 *       patterns ("a black and white photo of the red." still points to red: black and white
 *       cancel). Other words end with no colour component: cosine 0 against any image.
 * </ul>
 * Recognised words: red, green, blue, yellow, cyan, magenta, white, black. "cyan" is two BPE
 * tokens ("cy", "an"); its pattern sits on "cy", since "an" is also the article.
 */
final class ColourWorldNetworks {
    static final int IMAGE_WIDTH = 64;
    static final int TEXT_WIDTH = 32;
    static final int EMBED_DIM = 32;
    static final int PATCH = 16;
    static final int GRID = 14;
    static final int CONTEXT = ClipTokenizer.CONTEXT_LENGTH;
    static final float LN_EPS = 1e-5f;
    /** CLIP's normalisation, which the demo uses like a real CLIP bundle. */
    static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** Colour words and their corners (R, G, B ∈ {0, 1}). */
    static final List<Object[]> COLOURS = List.of(
            new Object[] {"red", new int[] {1, 0, 0}},
            new Object[] {"green", new int[] {0, 1, 0}},
            new Object[] {"blue", new int[] {0, 0, 1}},
            new Object[] {"yellow", new int[] {1, 1, 0}},
            new Object[] {"cyan", new int[] {0, 1, 1}},
            new Object[] {"magenta", new int[] {1, 0, 1}},
            new Object[] {"white", new int[] {1, 1, 1}},
            new Object[] {"black", new int[] {0, 0, 0}});

    private ColourWorldNetworks() {}

    // ------------------------------------------------------------------------------ image side

    static byte[] imageGraph() {
        int D = IMAGE_WIDTH;
        GraphBuilder g = GraphBuilder.create("colour_world_maskclip_image").opset(17);
        String px = g.input("pixel_values", ElementType.FLOAT32, 1, 3, "height", "width");
        String pe = g.input("pos_embed", ElementType.FLOAT32, 1, "tokens", D);

        float[] patch = new float[D * 3 * PATCH * PATCH];
        for (int c = 0; c < 3; c++) {
            float w = STD[c] / (PATCH * PATCH); // mean over the patch, undoing the std division
            for (int i = 0; i < PATCH * PATCH; i++) {
                patch[(c * 3 + c) * PATCH * PATCH + i] = w;
                patch[((c + 3) * 3 + c) * PATCH * PATCH + i] = -w;
            }
        }
        String conv = g.conv(px, g.initializer("patch_embedding.weight", patch, D, 3, PATCH, PATCH), null,
                new long[] {PATCH, PATCH}, new long[] {0, 0, 0, 0});
        String tokens = g.transpose(g.reshape(conv, 1, D, -1), 0, 2, 1);
        String cls = g.initializer("class_embedding", new float[D], 1, 1, D);
        String x = g.add(g.concat(1, cls, tokens), pe);
        x = layerNorm(g, "pre_layrnorm", x, D, 1f);

        // Block 0: a standard pre-norm block whose branches write nothing (zero output weights).
        x = standardBlock(g, "layers.0", x, D);

        // Last block, MaskCLIP's dense path: the attention replaced by its value path.
        String h = layerNorm(g, "layers.1.layer_norm1", x, D, 1f);
        float[] vW = identityOnDims(D, D, 0, 6, 0);
        float[] kW = identityOnDims(D, D, 0, 6, 0);
        float[] oW = identityOnDims(D, D, 0, 6, 16); // v dims 0..5 → residual dims 16..21
        String wo = g.initializer("layers.1.out_proj.weight", oW, D, D);
        String bo = g.initializer("layers.1.out_proj.bias", new float[D], D);
        String v = linear(g, h, g.initializer("layers.1.v_proj.weight", vW, D, D), g.initializer("layers.1.v_proj.bias", new float[D], D));
        String k = linear(g, h, g.initializer("layers.1.k_proj.weight", kW, D, D), g.initializer("layers.1.k_proj.bias", new float[D], D));
        String dense = g.add(x, linear(g, v, wo, bo));
        dense = g.add(dense, mlp(g, "layers.1", layerNorm(g, "layers.1.layer_norm2", dense, D, 1f), D));
        String post = layerNorm(g, "post_layernorm", dense, D, 1f);
        g.named("dense_features").slice(post, new long[] {1}, new long[] {Long.MAX_VALUE}, new long[] {1}, new long[] {1});
        g.named("dense_keys").slice(linear(g, k, wo, bo), new long[] {1}, new long[] {Long.MAX_VALUE}, new long[] {1}, new long[] {1});
        g.output("dense_features", ElementType.FLOAT32, 1, "patches", D);
        g.output("dense_keys", ElementType.FLOAT32, 1, "patches", D);
        return g.toBytes();
    }

    /** [1 + GRID², D]: the class position zero; every grid position the constant that turns the
     * patch average of normalised pixels back into (colour − ½). */
    static float[] positionalEmbedding() {
        int D = IMAGE_WIDTH;
        float[] pos = new float[(1 + GRID * GRID) * D];
        for (int t = 1; t <= GRID * GRID; t++) {
            for (int c = 0; c < 3; c++) {
                pos[t * D + c] = MEAN[c] - 0.5f;
                pos[t * D + c + 3] = -(MEAN[c] - 0.5f);
            }
        }
        return pos;
    }

    /** [EMBED_DIM, IMAGE_WIDTH]: reads dims 0..2 into embedding dims 0..2. */
    static float[] headWeight() {
        float[] w = new float[EMBED_DIM * IMAGE_WIDTH];
        for (int e = 0; e < 3; e++) w[e * IMAGE_WIDTH + e] = 1f;
        return w;
    }

    // ------------------------------------------------------------------------------- text side

    static byte[] textGraph() {
        int D = TEXT_WIDTH;
        float[] proj = new float[D * EMBED_DIM];
        for (int d = 0; d < 3; d++) proj[d * EMBED_DIM + d] = 1f;
        for (int d = 8; d < D; d++) proj[d * EMBED_DIM + d] = 0.2f;
        return textGraph("colour_world_clip_text", D, EMBED_DIM, tokenEmbedding(), 6, 6, proj);
    }

    /**
     * A causal CLIP text transformer with one block whose single head lets every position average
     * the "colour" tokens before it: the query is constant, the key is the flag dim {@code flagDim}
     * (score 20 on flagged tokens), the value and output copy dims [0, valueDims). Token
     * embeddings must be zero-mean rows of squared norm 8 (the first LayerNorm is then the
     * identity); end-token pooling; projection [D, E].
     */
    static byte[] textGraph(String name, int D, int E, float[] tokenEmbedding, int flagDim, int valueDims, float[] proj) {
        GraphBuilder g = GraphBuilder.create(name).opset(17);
        String ids = g.input("input_ids", ElementType.INT64, "batch", "length");
        String x = g.gather(g.initializer("token_embedding.weight", tokenEmbedding, ClipTokenizer.VOCAB_SIZE, D), ids, 0);
        String len = g.slice(g.shape(ids), new long[] {1}, new long[] {2}, new long[] {0}, new long[] {1});
        String zero = g.initializer("zero_1", new long[] {0}, 1);
        String pos = g.node("Slice", List.of(g.initializer("position_embedding.weight", new float[CONTEXT * D], CONTEXT, D), zero, len, zero), 1).get(0);
        x = g.add(x, pos);

        float gamma = (float) Math.sqrt(8.0 / D); // token embeddings all have |x|² = 8, mean 0
        String h = layerNorm(g, "layers.0.layer_norm1", x, D, gamma);
        float[] qb = new float[D];
        qb[0] = (float) (20 * Math.sqrt(D));
        float[] kW = new float[D * D];
        kW[flagDim * D] = 1f; // key dim 0 ← the flag
        String q = linear(g, h, g.initializer("layers.0.q_proj.weight", new float[D * D], D, D), g.initializer("layers.0.q_proj.bias", qb, D));
        String k = linear(g, h, g.initializer("layers.0.k_proj.weight", kW, D, D), g.initializer("layers.0.k_proj.bias", new float[D], D));
        String v = linear(g, h, g.initializer("layers.0.v_proj.weight", identityOnDims(D, D, 0, valueDims, 0), D, D),
                g.initializer("layers.0.v_proj.bias", new float[D], D));
        String scores = g.mul(g.matMul(q, g.transpose(k, 0, 2, 1)), g.scalar((float) (1 / Math.sqrt(D))));
        float[] mask = new float[CONTEXT * CONTEXT];
        for (int i = 0; i < CONTEXT; i++) for (int j = i + 1; j < CONTEXT; j++) mask[i * CONTEXT + j] = Float.NEGATIVE_INFINITY;
        String lens = g.concat(0, len, len);
        String zeros2 = g.initializer("zero_2", new long[] {0, 0}, 2);
        String m = g.node("Slice", List.of(g.initializer("causal_mask", mask, CONTEXT, CONTEXT), zeros2, lens), 1).get(0);
        String attn = g.matMul(g.softmax(g.add(scores, m), -1), v);
        x = g.add(x, linear(g, attn, g.initializer("layers.0.out_proj.weight", identityOnDims(D, D, 0, valueDims, 0), D, D),
                g.initializer("layers.0.out_proj.bias", new float[D], D)));
        x = g.add(x, mlp(g, "layers.0", layerNorm(g, "layers.0.layer_norm2", x, D, 1f), D));
        x = layerNorm(g, "final_layer_norm", x, D, 1f);

        // End-token pooling: the end token has the largest id (CLIP pools at argmax of the ids).
        String eot = g.argMax(g.cast(ids, ElementType.INT32), -1, true);
        String pooled = g.node("GatherND", List.of(x, eot), 1, Attribute.of("batch_dims", 1L)).get(0);
        g.named("text_embeds").matMul(pooled, g.initializer("text_projection.weight", proj, D, E));
        g.output("text_embeds", ElementType.FLOAT32, "batch", E);
        return g.toBytes();
    }

    /** [VOCAB, TEXT_WIDTH] token embeddings, every row with zero mean and squared norm 8. */
    static float[] tokenEmbedding() {
        int D = TEXT_WIDTH, V = ClipTokenizer.VOCAB_SIZE;
        float[] e = new float[V * D];
        float c = (float) Math.sqrt(4.0 / 22);
        for (int t = 0; t < V; t++) {
            int o = t * D;
            e[o + 8] = (float) Math.sqrt(2);
            e[o + 9] = (float) -Math.sqrt(2);
            SplittableRandom r = new SplittableRandom(0x5EED0000L + t);
            for (int i = 0; i < 11; i++) {
                float s = r.nextBoolean() ? c : -c;
                e[o + 10 + 2 * i] = s;
                e[o + 11 + 2 * i] = -s;
            }
        }
        ClipTokenizer tok = ClipTokenizer.shared();
        for (Object[] colour : COLOURS) {
            int[] ids = tok.encode((String) colour[0]);
            int id = ids[0]; // "cyan" = "cy" + "an": the pattern sits on the first token
            int[] corner = (int[]) colour[1];
            int o = id * D;
            java.util.Arrays.fill(e, o, o + D, 0f);
            for (int ch = 0; ch < 3; ch++) {
                e[o + ch] = corner[ch] == 1 ? 1f : -1f;
                e[o + ch + 3] = -e[o + ch];
            }
            e[o + 6] = 1f;
            e[o + 7] = -1f;
        }
        return e;
    }

    // ---------------------------------------------------------------------------------- pieces

    private static String layerNorm(GraphBuilder g, String name, String x, int D, float gamma) {
        float[] scale = new float[D];
        java.util.Arrays.fill(scale, gamma);
        return g.layerNorm(x, g.initializer(name + ".weight", scale, D), g.initializer(name + ".bias", new float[D], D), -1, LN_EPS);
    }

    /** x @ W + b with W stored [in, out] (as an exporter writes MatMul weights). */
    private static String linear(GraphBuilder g, String x, String w, String b) {
        return g.add(g.matMul(x, w), b);
    }

    /** fc2(QuickGELU(fc1(x))) with fc2 zero: the branch exists, as in CLIP, and adds nothing. */
    private static String mlp(GraphBuilder g, String name, String x, int D) {
        int hidden = 4 * D;
        float[] fc1 = new float[D * hidden];
        SplittableRandom r = new SplittableRandom(name.hashCode());
        for (int i = 0; i < fc1.length; i++) fc1[i] = (float) ((r.nextDouble() - 0.5) * 0.1);
        String a = g.quickGelu(linear(g, x, g.initializer(name + ".fc1.weight", fc1, D, hidden), g.initializer(name + ".fc1.bias", new float[hidden], hidden)));
        return linear(g, a, g.initializer(name + ".fc2.weight", new float[hidden * D], hidden, D), g.initializer(name + ".fc2.bias", new float[D], D));
    }

    /** A standard pre-norm transformer block (one head) whose output projections are zero. */
    private static String standardBlock(GraphBuilder g, String name, String x, int D) {
        String h = layerNorm(g, name + ".layer_norm1", x, D, 1f);
        SplittableRandom r = new SplittableRandom(name.hashCode());
        float[] wq = new float[D * D], wk = new float[D * D], wv = new float[D * D];
        for (int i = 0; i < D * D; i++) {
            wq[i] = (float) ((r.nextDouble() - 0.5) * 0.2);
            wk[i] = (float) ((r.nextDouble() - 0.5) * 0.2);
            wv[i] = (float) ((r.nextDouble() - 0.5) * 0.2);
        }
        String q = linear(g, h, g.initializer(name + ".q_proj.weight", wq, D, D), g.initializer(name + ".q_proj.bias", new float[D], D));
        String k = linear(g, h, g.initializer(name + ".k_proj.weight", wk, D, D), g.initializer(name + ".k_proj.bias", new float[D], D));
        String v = linear(g, h, g.initializer(name + ".v_proj.weight", wv, D, D), g.initializer(name + ".v_proj.bias", new float[D], D));
        String a = g.softmax(g.mul(g.matMul(q, g.transpose(k, 0, 2, 1)), g.scalar((float) (1 / Math.sqrt(D)))), -1);
        String o = linear(g, g.matMul(a, v), g.initializer(name + ".out_proj.weight", new float[D * D], D, D), g.initializer(name + ".out_proj.bias", new float[D], D));
        x = g.add(x, o);
        return g.add(x, mlp(g, name, layerNorm(g, name + ".layer_norm2", x, D, 1f), D));
    }

    /** An [in, out] matrix copying input dims [from, from+n) to output dims [to, to+n). */
    static float[] identityOnDims(int in, int out, int from, int n, int to) {
        float[] w = new float[in * out];
        for (int i = 0; i < n; i++) w[(from + i) * out + to + i] = 1f;
        return w;
    }
}
