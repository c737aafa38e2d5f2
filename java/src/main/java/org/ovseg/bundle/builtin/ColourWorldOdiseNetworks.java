package org.ovseg.bundle.builtin;

import java.util.List;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.engine.onnx.OnnxWriter.Attribute;
import org.ovseg.tensor.ElementType;

/**
 * The built-in demonstration model {@code builtin:colour-world-odise}: ODISE's five graphs with
 * the exported model's interfaces and hand-set weights, so that on an image of flat colour regions
 * each region present becomes one panoptic segment named by its colour word.
 *
 * <ul>
 *   <li>Backbone: average pools at strides 4, 8, 16, 32 of (pixel − ½), each written as [r, −r]
 *       (six channels): every map is zero-mean across channels, as LayerNorm later needs.
 *   <li>Mask generator: one query per colour corner s ∈ {±1}³ (the eight colour words); its mask
 *       logit is 20·(s·r − 1): +10 on its colour, −10 one channel away (s·r = ½ there); mask features
 *       are the stride-4 map, the decoder state is zero (the queries carry nothing of the image).
 *   <li>Mask embed: LayerNorm → identity pool_proj → LayerNorm → a 3-layer ReLU MLP that passes
 *       [r⁺, r⁻] and recombines r = r⁺ − r⁻ into dims 0–2: the embedding points along the pooled colour.
 *   <li>CLIP branch: a 14×14 patch embedding averaging (pixel − ½) per patch, one attention layer in
 *       which each mask token attends uniformly to the class token (value zero) and to the patches
 *       its mask covers, a projection of dims 0–2: again the region's colour direction.
 *   <li>Text: {@code ColourWorldNetworks}' CLIP text transformer (colour words → corner patterns).
 * </ul>
 * Not trained; nothing here is Stable Diffusion, Mask2Former or CLIP beyond the interfaces.
 */
final class ColourWorldOdiseNetworks {
    static final int FEATURES = 6;
    static final int MASK_DIM = 8;
    static final int PROJECTION = 8;
    static final int CLIP_WIDTH = 8;
    static final int CLIP_PATCH = 14;
    static final int CLIP_GRID = 24;
    static final int EMBED_DIM = ColourWorldNetworks.EMBED_DIM;
    static final int QUERIES = ColourWorldNetworks.COLOURS.size();
    static final int[] STRIDES = {4, 8, 16, 32};
    static final float GAIN = 20f;

    private ColourWorldOdiseNetworks() {}

    static byte[] backboneGraph() {
        GraphBuilder g = GraphBuilder.create("colour_world_odise_backbone").opset(17);
        String px = g.input("pixel_values", ElementType.FLOAT32, "tiles", 3, "crop", "crop");
        String x = g.sub(px, g.scalar(0.5f));
        float[] w = new float[FEATURES * 3];
        for (int c = 0; c < 3; c++) {
            w[c * 3 + c] = 1f;
            w[(c + 3) * 3 + c] = -1f;
        }
        String wInit = g.initializer("signed_copy.weight", w, FEATURES, 3, 1, 1);
        for (int i = 0; i < STRIDES.length; i++) {
            int s = STRIDES[i];
            String pooled = g.node("AveragePool", List.of(x), 1, Attribute.ints("kernel_shape", s, s), Attribute.ints("strides", s, s)).get(0);
            g.rename(g.conv(pooled, wInit, null, new long[] {1, 1}, new long[] {0, 0, 0, 0}), "s" + (i + 2));
            g.output("s" + (i + 2), ElementType.FLOAT32, "tiles", FEATURES, "crop/" + s, "crop/" + s);
        }
        return g.toBytes();
    }

    static byte[] maskGeneratorGraph() {
        GraphBuilder g = GraphBuilder.create("colour_world_odise_mask_generator").opset(17);
        String s2 = g.input("s2", ElementType.FLOAT32, 1, FEATURES, "h4", "w4");
        for (int i = 1; i < STRIDES.length; i++) g.input("s" + (i + 2), ElementType.FLOAT32, 1, FEATURES, "h" + STRIDES[i], "w" + STRIDES[i]);
        float[] fw = new float[MASK_DIM * FEATURES];
        for (int c = 0; c < FEATURES; c++) fw[c * FEATURES + c] = 1f;
        g.rename(g.conv(s2, g.initializer("mask_features.weight", fw, MASK_DIM, FEATURES, 1, 1), null, new long[] {1, 1}, new long[] {0, 0, 0, 0}),
                "mask_features");
        float[] qw = new float[QUERIES * FEATURES], qb = new float[QUERIES];
        for (int q = 0; q < QUERIES; q++) {
            int[] corner = (int[]) ColourWorldNetworks.COLOURS.get(q)[1];
            for (int c = 0; c < 3; c++) qw[q * FEATURES + c] = GAIN * (corner[c] == 1 ? 1f : -1f);
            qb[q] = -GAIN;
        }
        g.rename(g.conv(s2, g.initializer("query_masks.weight", qw, QUERIES, FEATURES, 1, 1), g.initializer("query_masks.bias", qb, QUERIES),
                new long[] {1, 1}, new long[] {0, 0, 0, 0}), "mask_logits");
        g.rename(g.identity(g.initializer("query_states", new float[QUERIES * MASK_DIM], 1, QUERIES, MASK_DIM)), "decoder_output");
        g.output("mask_logits", ElementType.FLOAT32, 1, QUERIES, "h4", "w4");
        g.output("mask_features", ElementType.FLOAT32, 1, MASK_DIM, "h4", "w4");
        g.output("decoder_output", ElementType.FLOAT32, 1, QUERIES, MASK_DIM);
        return g.toBytes();
    }

    static byte[] maskEmbedGraph() {
        int D = MASK_DIM;
        GraphBuilder g = GraphBuilder.create("colour_world_odise_mask_embed").opset(17);
        String pooled = g.input("pooled_features", ElementType.FLOAT32, 1, "queries", D);
        String dec = g.input("decoder_output", ElementType.FLOAT32, 1, "queries", D);
        String x = layerNorm(g, "pool_proj.0", pooled, D);
        x = linear(g, "pool_proj.1", x, eye(D, D), D, D);
        x = g.add(x, dec);
        x = layerNorm(g, "mask_embed.0", x, D);
        x = g.relu(linear(g, "mask_embed.1.layers.0", x, eye(D, D), D, D));
        x = g.relu(linear(g, "mask_embed.1.layers.1", x, eye(D, D), D, D));
        float[] last = new float[D * PROJECTION]; // [in, out]: out d = h_d − h_{d+3}
        for (int d = 0; d < 3; d++) {
            last[d * PROJECTION + d] = 1f;
            last[(d + 3) * PROJECTION + d] = -1f;
        }
        g.rename(linear(g, "mask_embed.1.layers.2", x, last, D, PROJECTION), "mask_embed");
        g.output("mask_embed", ElementType.FLOAT32, 1, "queries", PROJECTION);
        return g.toBytes();
    }

    static byte[] clipGraph() {
        int D = CLIP_WIDTH, G = CLIP_GRID, N = G * G, S = CLIP_PATCH * CLIP_GRID;
        GraphBuilder g = GraphBuilder.create("colour_world_odise_clip").opset(17);
        String px = g.input("pixel_values", ElementType.FLOAT32, 1, 3, S, S);
        String allowed = g.input("mask_attention", ElementType.FLOAT32, 1, "queries", N);
        float[] conv = new float[D * 3 * CLIP_PATCH * CLIP_PATCH];
        int area = CLIP_PATCH * CLIP_PATCH;
        for (int c = 0; c < 3; c++) {
            float w = ColourWorldNetworks.STD[c] / area; // undoes the std division, averages the patch
            for (int i = 0; i < area; i++) {
                conv[(c * 3 + c) * area + i] = w;
                conv[((c + 3) * 3 + c) * area + i] = -w;
            }
        }
        String patches = g.conv(px, g.initializer("conv1.weight", conv, D, 3, CLIP_PATCH, CLIP_PATCH), null,
                new long[] {CLIP_PATCH, CLIP_PATCH}, new long[] {0, 0, 0, 0});
        patches = g.transpose(g.reshape(patches, 1, D, N), 0, 2, 1);
        float[] pos = new float[N * D];
        for (int t = 0; t < N; t++) {
            for (int c = 0; c < 3; c++) {
                pos[t * D + c] = ColourWorldNetworks.MEAN[c] - 0.5f;
                pos[t * D + c + 3] = -(ColourWorldNetworks.MEAN[c] - 0.5f);
            }
        }
        patches = g.add(patches, g.initializer("positional_embedding", pos, 1, N, D));
        String values = g.concat(1, g.initializer("class_embedding", new float[D], 1, 1, D), patches);
        // Mask tokens attend to the class token always and to patch n where allowed[n] = 1.
        String bias = g.mul(g.sub(allowed, g.scalar(1f)), g.scalar(1e4f));
        String clsCol = g.mul(g.slice(allowed, new long[] {0}, new long[] {1}, new long[] {2}, new long[] {1}), g.scalar(0f));
        String attn = g.softmax(g.concat(2, clsCol, bias), -1);
        String tokens = g.matMul(attn, values);
        float[] proj = new float[D * EMBED_DIM];
        for (int d = 0; d < 3; d++) proj[d * EMBED_DIM + d] = 1f;
        g.rename(g.matMul(tokens, g.initializer("proj", proj, D, EMBED_DIM)), "mask_embeds");
        g.output("mask_embeds", ElementType.FLOAT32, 1, "queries", EMBED_DIM);
        return g.toBytes();
    }

    /** [P, E] text projection: colour dims 0–2 through, dim 3 (where the null embedding lives) through. */
    static float[] textProjWeight() {
        float[] w = new float[PROJECTION * EMBED_DIM];
        for (int d = 0; d < 4; d++) w[d * EMBED_DIM + d] = 1f;
        return w;
    }

    /** [1, E]: the void class's embedding, orthogonal to every colour direction. */
    static float[] nullEmbed() {
        float[] e = new float[EMBED_DIM];
        e[3] = 1f;
        return e;
    }

    private static float[] eye(int in, int out) {
        return ColourWorldNetworks.identityOnDims(in, out, 0, Math.min(in, out), 0);
    }

    private static String layerNorm(GraphBuilder g, String name, String x, int D) {
        float[] one = new float[D];
        java.util.Arrays.fill(one, 1f);
        return g.layerNorm(x, g.initializer(name + ".weight", one, D), g.initializer(name + ".bias", new float[D], D), -1, 1e-5f);
    }

    /** x @ W + b, W stored [in, out] with a zero bias. */
    private static String linear(GraphBuilder g, String name, String x, float[] w, int in, int out) {
        return g.add(g.matMul(x, g.initializer(name + ".weight", w, in, out)), g.initializer(name + ".bias", new float[out], out));
    }
}
