package org.ovseg.bundle.builtin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.tensor.ElementType;
import org.ovseg.text.ClipTokenizer;
import org.ovseg.text.PromptTemplates;

/**
 * The networks of {@code builtin:colour-world-xdecoder}: X-Decoder's four graph interfaces
 * (backbone, decoder, grounding decoder, text encoder; tools/export/export_xdecoder.py) with hand-set
 * weights, so that ovseg's X-Decoder pipeline finds regions of pure colour by their colour words.
 *
 * <p>How: the backbone's mask features are, per colour corner k of the RGB cube, α·(s_k·(a − ½) − 1)
 * where a is the pixel colour averaged over 4×4 blocks and s_k ∈ {±1}³ the corner's sign pattern —
 * +α/2 inside a region of that colour, ≤ −α/2 elsewhere (a 4×4 conv stride 4 on the normalised image,
 * the normalisation undone in its weights). Query k of the decoder (one per colour, plus the class
 * token with a mask of −10 everywhere) has mask embedding e_k and class embedding e_k + ½·e_bg, so it
 * matches a label naming colour k and otherwise falls to the background class, which the official
 * semantic inference drops. The text encoder averages per-token embeddings (colour words → e_k,
 * "background" → e_bg, anything else → 0); the grounding decoder offers the eight colour queries.
 * Level features and resampling matrices are read but do not change the outputs. Not a trained model.
 */
final class ColourWorldXDecoderNetworks {
    static final int P = 16;
    static final int M = 8;
    static final int Q = 9;
    static final int BG = 8;
    static final float ALPHA = 20f;
    static final float GAMMA = 0.5f;
    static final float SCALE = 50f;
    /** X-Decoder's normalisation (0..1 units). */
    static final float[] MEAN = {123.675f / 255, 116.28f / 255, 103.53f / 255};
    static final float[] STD = {58.395f / 255, 57.12f / 255, 57.375f / 255};

    private ColourWorldXDecoderNetworks() {}

    private static int[] sign(int k) {
        int[] corner = (int[]) ColourWorldNetworks.COLOURS.get(k)[1];
        return new int[] {2 * corner[0] - 1, 2 * corner[1] - 1, 2 * corner[2] - 1};
    }

    static byte[] backboneGraph() {
        GraphBuilder g = GraphBuilder.create("colour_world_xdecoder_backbone").opset(17);
        String px = g.input("pixel_values", ElementType.FLOAT32, 1, 3, "height", "width");
        float[] w = new float[M * 3 * 16];
        float[] b = new float[M];
        for (int k = 0; k < M; k++) {
            int[] s = sign(k);
            double bias = -1;
            for (int c = 0; c < 3; c++) {
                // a_c = mean over the block of (x·std + mean); score = Σ s_c (a_c − ½) − 1
                for (int i = 0; i < 16; i++) w[(k * 3 + c) * 16 + i] = ALPHA * s[c] * STD[c] / 16f;
                bias += s[c] * (MEAN[c] - 0.5);
            }
            b[k] = (float) (ALPHA * bias);
        }
        String mf = g.conv(px, g.initializer("stem.weight", w, M, 3, 4, 4), g.initializer("stem.bias", b, M), new long[] {4, 4},
                new long[] {0, 0, 0, 0});
        g.rename(mf, "mask_features");
        float[] avg = new float[M * M * 4];
        for (int k = 0; k < M; k++) for (int i = 0; i < 4; i++) avg[(k * M + k) * 4 + i] = 0.25f;
        String pool = g.initializer("pool.weight", avg, M, M, 2, 2);
        String l2 = g.conv("mask_features", pool, null, new long[] {2, 2}, new long[] {0, 0, 0, 0});
        String l1 = g.conv(l2, pool, null, new long[] {2, 2}, new long[] {0, 0, 0, 0});
        String l0 = g.conv(l1, pool, null, new long[] {2, 2}, new long[] {0, 0, 0, 0});
        g.rename(l2, "level2");
        g.rename(l1, "level1");
        g.rename(l0, "level0");
        g.output("mask_features", ElementType.FLOAT32, 1, M, "h4", "w4");
        g.output("level0", ElementType.FLOAT32, 1, M, "h32", "w32");
        g.output("level1", ElementType.FLOAT32, 1, M, "h16", "w16");
        g.output("level2", ElementType.FLOAT32, 1, M, "h8", "w8");
        return g.toBytes();
    }

    /** Inputs shared by both decoders; @return a scalar zero that depends on every one of them. */
    private static String commonInputs(GraphBuilder g, String extra) {
        List<String> names = new ArrayList<>();
        names.add(g.input("level0", ElementType.FLOAT32, 1, M, "h32", "w32"));
        names.add(g.input("level1", ElementType.FLOAT32, 1, M, "h16", "w16"));
        names.add(g.input("level2", ElementType.FLOAT32, 1, M, "h8", "w8"));
        names.add(g.input("mask_features", ElementType.FLOAT32, 1, M, "h4", "w4"));
        names.add(g.input(extra, ElementType.FLOAT32, extra.equals("text_emb") ? "classes" : "tokens", P));
        String[][] mats = {{"ry0", "h32", "h4"}, {"rx0", "w32", "w4"}, {"ry1", "h16", "h4"}, {"rx1", "w16", "w4"}, {"ry2", "h8", "h4"},
            {"rx2", "w8", "w4"}};
        for (String[] m : mats) names.add(g.input(m[0], ElementType.FLOAT32, m[1], m[2]));
        String zero = null;
        for (String n : names) {
            int rank = n.startsWith("level") || n.equals("mask_features") ? 4 : 2;
            long[] axes = rank == 4 ? new long[] {0, 1, 2, 3} : new long[] {0, 1};
            String z = g.mul(g.reduceMean(n, axes, false), g.scalar(0f));
            zero = zero == null ? z : g.add(zero, z);
        }
        return zero;
    }

    /** [rows, P] class embeddings of the colour queries (then the class token), unnormalised. */
    private static float[] classEmbeddings(int rows) {
        float[] c = new float[rows * P];
        for (int q = 0; q < rows; q++) {
            if (q < M) c[q * P + q] = 1f;
            c[q * P + BG] += q < M ? GAMMA : 1f;
        }
        return c;
    }

    private static String masks(GraphBuilder g, String zero, int rows, String name) {
        float[] e = new float[rows * M];
        float[] bias = new float[rows];
        for (int q = 0; q < rows; q++) {
            if (q < M) e[q * M + q] = 1f;
            else bias[q] = -10f; // the class token: nowhere
        }
        String flat = g.reshape("mask_features", M, -1);
        String m = g.add(g.add(g.matMul(g.initializer(name + ".embed", e, rows, M), flat), g.initializer(name + ".bias", bias, rows, 1)), zero);
        String hw = g.slice(g.shape("mask_features"), new long[] {2}, new long[] {4}, new long[] {0}, new long[] {1});
        String shape = g.concat(0, g.longs(rows), hw);
        return g.reshape(m, shape);
    }

    static byte[] decoderGraph() {
        GraphBuilder g = GraphBuilder.create("colour_world_xdecoder_decoder").opset(17);
        String zero = commonInputs(g, "text_emb");
        g.rename(masks(g, zero, Q, "mask"), "pred_masks");
        float[] c = classEmbeddings(Q);
        float[] cn = new float[c.length];
        for (int q = 0; q < Q; q++) {
            double n = 0;
            for (int j = 0; j < P; j++) n += c[q * P + j] * c[q * P + j];
            for (int j = 0; j < P; j++) cn[q * P + j] = (float) (SCALE * c[q * P + j] / Math.sqrt(n));
        }
        g.rename(g.add(g.initializer("class_emb.value", c, Q, P), zero), "class_emb");
        g.rename(g.matMul(g.initializer("class_emb.scaled_unit", cn, Q, P), g.transpose("text_emb", 1, 0)), "pred_logits");
        g.output("pred_logits", ElementType.FLOAT32, Q, "classes");
        g.output("pred_masks", ElementType.FLOAT32, Q, "h4", "w4");
        g.output("class_emb", ElementType.FLOAT32, Q, P);
        return g.toBytes();
    }

    static byte[] groundingGraph() {
        GraphBuilder g = GraphBuilder.create("colour_world_xdecoder_grounding").opset(17);
        String zero = commonInputs(g, "grounding_tokens");
        g.rename(masks(g, zero, Q - 1, "gmask"), "grounding_masks");
        g.rename(g.add(g.initializer("grounding_emb.value", classEmbeddings(Q - 1), Q - 1, P), zero), "grounding_emb");
        g.output("grounding_masks", ElementType.FLOAT32, Q - 1, "h4", "w4");
        g.output("grounding_emb", ElementType.FLOAT32, Q - 1, P);
        return g.toBytes();
    }

    static byte[] textGraph() {
        GraphBuilder g = GraphBuilder.create("colour_world_xdecoder_text").opset(17);
        String ids = g.input("input_ids", ElementType.INT64, "batch", "length");
        float[] table = new float[ClipTokenizer.VOCAB_SIZE * P];
        ClipTokenizer tok = ClipTokenizer.shared();
        for (int k = 0; k < M; k++) {
            int id = tok.encode((String) ColourWorldNetworks.COLOURS.get(k)[0])[0]; // "cyan": its first token "cy"
            table[id * P + k] = 1f;
        }
        table[tok.encode("background")[0] * P + BG] = 1f;
        String emb = g.gather(g.initializer("token_embedding", table, ClipTokenizer.VOCAB_SIZE, P), ids, 0);
        g.rename(emb, "token_emb");
        g.rename(g.reduceMean("token_emb", new long[] {1}, false), "class_emb");
        g.output("token_emb", ElementType.FLOAT32, "batch", "length", P);
        g.output("class_emb", ElementType.FLOAT32, "batch", P);
        return g.toBytes();
    }

    /** The bundle's files, file name → bytes. */
    static Map<String, byte[]> files(String version) {
        try {
            Map<String, byte[]> f = new LinkedHashMap<>();
            f.put("backbone.onnx", backboneGraph());
            f.put("decoder.onnx", decoderGraph());
            f.put("grounding.onnx", groundingGraph());
            f.put("text.onnx", textGraph());
            f.put("bundle.json", manifest(f, version));
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Object> io(String name, String dtype, Object... shape) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("dtype", dtype);
        m.put("shape", List.of(shape));
        return m;
    }

    private static Map<String, Object> net(Map<String, byte[]> files, String file, List<Object> in, List<Object> out) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("file", file);
        m.put("sha256", BuiltinBundles.sha256(files.get(file)));
        m.put("precision", "fp32");
        m.put("inputs", in);
        m.put("outputs", out);
        return m;
    }

    private static byte[] manifest(Map<String, byte[]> files, String version) throws IOException {
        List<Object> levels = List.of(io("level0", "float32", 1, M, "h32", "w32"), io("level1", "float32", 1, M, "h16", "w16"),
                io("level2", "float32", 1, M, "h8", "w8"), io("mask_features", "float32", 1, M, "h4", "w4"));
        List<Object> mats = List.of(io("ry0", "float32", "h32", "h4"), io("rx0", "float32", "w32", "w4"), io("ry1", "float32", "h16", "h4"),
                io("rx1", "float32", "w16", "w4"), io("ry2", "float32", "h8", "h4"), io("rx2", "float32", "w8", "w4"));
        Map<String, Object> nets = new LinkedHashMap<>();
        nets.put("backbone", net(files, "backbone.onnx", List.of(io("pixel_values", "float32", 1, 3, "height", "width")),
                List.of(levels.get(3), levels.get(0), levels.get(1), levels.get(2))));
        List<Object> decIn = new ArrayList<>(levels);
        decIn.add(io("text_emb", "float32", "classes", P));
        decIn.addAll(mats);
        nets.put("decoder", net(files, "decoder.onnx", decIn, List.of(io("pred_logits", "float32", Q, "classes"),
                io("pred_masks", "float32", Q, "h4", "w4"), io("class_emb", "float32", Q, P))));
        List<Object> grIn = new ArrayList<>(levels);
        grIn.add(io("grounding_tokens", "float32", "tokens", P));
        grIn.addAll(mats);
        nets.put("grounding", net(files, "grounding.onnx", grIn, List.of(io("grounding_masks", "float32", Q - 1, "h4", "w4"),
                io("grounding_emb", "float32", Q - 1, P))));
        nets.put("text", net(files, "text.onnx", List.of(io("input_ids", "int64", "batch", "length")),
                List.of(io("token_emb", "float32", "batch", "length", P), io("class_emb", "float32", "batch", P))));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format_version", 1);
        m.put("pipeline", "xdecoder");
        m.put("family", "colour-world-xdecoder-demo");
        m.put("networks", nets);
        Map<String, Object> pre = new LinkedHashMap<>();
        pre.put("size_policy", "short-side");
        pre.put("size", 512);
        pre.put("max_long_side", 2048);
        pre.put("mean", List.of((double) MEAN[0], (double) MEAN[1], (double) MEAN[2]));
        pre.put("std", List.of((double) STD[0], (double) STD[1], (double) STD[2]));
        pre.put("patch_size", 32);
        pre.put("interpolation", "bilinear, align_corners=false");
        pre.put("pos_embed_interpolation", "none");
        pre.put("padding", "zero, bottom-right, to a multiple of 32");
        m.put("preprocessing", pre);
        Map<String, Object> text = new LinkedHashMap<>();
        text.put("tokenizer", "clip-bpe");
        text.put("context_length", ClipTokenizer.CONTEXT_LENGTH);
        List<String> templates = new ArrayList<>(List.of("{}."));
        templates.addAll(PromptTemplates.named("imagenet80").templates());
        text.put("templates", templates);
        m.put("text", text);
        m.put("embed_dim", P);
        m.put("logit_scale", (double) SCALE);
        Map<String, Object> defaults = new LinkedHashMap<>();
        defaults.put("background_text", "A background in coco.");
        defaults.put("object_mask_threshold", 0.8);
        defaults.put("overlap_threshold", 0.8);
        m.put("defaults", defaults);
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("generator", "org.ovseg.bundle.builtin.ColourWorldXDecoderNetworks " + version);
        source.put("notes", "X-Decoder demonstration model: the exporter's graph interfaces with hand-set weights that find regions "
                + "of the colours red, green, blue, yellow, cyan, magenta, white and black. Not trained; not a real X-Decoder.");
        m.put("source", source);
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(m);
    }
}
