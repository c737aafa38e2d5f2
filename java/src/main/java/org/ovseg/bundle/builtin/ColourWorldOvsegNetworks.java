package org.ovseg.bundle.builtin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.ovseg.bundle.Npy;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.tensor.ElementType;

/**
 * The built-in demonstration model {@code builtin:colour-world-ovseg}: OVSegmentor's three graph
 * interfaces (stage 1 up to the assignment, stage 2 after the binding, text) with hand-set weights,
 * so that groups bind the regions of one colour and the eight colour words find them. Not trained,
 * not OVSegmentor's architecture inside the graphs; the pipeline around them is the real one (the
 * slot-attention binding, soft pixel→group maps, top-5 restriction, background threshold).
 *
 * <ul>
 *   <li>Stage 1: the patch convolution averages each channel (undoing the std division), the
 *       position table adds mean − ½ (bicubic resizing keeps a constant), so a patch token is
 *       d = colour − ½ in dims 0–2. Keys and values are d; group g's query is 40·s_g, s_g ∈ {±1}³
 *       the sign pattern of one corner of the RGB cube: q·d/√C is largest for the corner nearest
 *       the patch's colour, by 10 per differing channel for a pure colour. The group tokens are 0.
 *   <li>Binding (the pipeline's kernel): group g ≈ the mean d of its patches.
 *   <li>Stage 2: softmax over the eight corners of 10·s_k·bound_g: one-hot on the group's colour
 *       (uniform for an empty group), in embedding dims 0–7; the image embedding is the groups'
 *       mean — a histogram of the colours present.
 *   <li>Text: the mean over unmasked tokens of a token table in which colour word k is the unit
 *       vector k and every other token a small vector in dims 8–15; a prompt is its colour word,
 *       a label without one has cosine 0 with every group.
 * </ul>
 */
final class ColourWorldOvsegNetworks {
    static final int WIDTH = 16, GROUPS = 8, EMBED_DIM = 16, PATCH = 16, GRID = 14, CONTEXT = 64, SIZE = 448;
    /** OVSegmentor's (ImageNet) normalisation. */
    static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    static final float[] STD = {0.229f, 0.224f, 0.225f};
    static final List<String> COLOURS = List.of("red", "green", "blue", "yellow", "cyan", "magenta", "white", "black");
    static final int[][] CORNERS = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {0, 1, 1}, {1, 0, 1}, {1, 1, 1}, {0, 0, 0}};
    private static final float QUERY = 40f, CORNER_SHARPNESS = 10f;

    private ColourWorldOvsegNetworks() {}

    private static Map<String, byte[]> cached;

    /** The bundle's files, name → bytes (computed once per process, byte-for-byte deterministic). */
    static synchronized Map<String, byte[]> files() {
        if (cached != null) return cached;
        try {
            Map<String, byte[]> f = new LinkedHashMap<>();
            f.put("stage1.onnx", stage1());
            f.put("stage2.onnx", stage2());
            f.put("text.onnx", text());
            f.put("vocab.txt", (String.join("\n", vocabulary()) + "\n").getBytes(StandardCharsets.UTF_8));
            ByteArrayOutputStream npy = new ByteArrayOutputStream();
            Npy.writeFloats(npy, positions(), GRID * GRID, WIDTH);
            f.put("pos_embed.npy", npy.toByteArray());
            f.put("bundle.json", manifest(f));
            cached = Collections.unmodifiableMap(f);
            return cached;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] stage1() {
        int C = WIDTH;
        GraphBuilder g = GraphBuilder.create("colour_world_ovseg_stage1").opset(17);
        String px = g.input("pixel_values", ElementType.FLOAT32, 1, 3, "height", "width");
        String pe = g.input("pos_embed", ElementType.FLOAT32, 1, "patches", C);
        float[] patch = new float[C * 3 * PATCH * PATCH];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < PATCH * PATCH; i++) patch[(c * 3 + c) * PATCH * PATCH + i] = STD[c] / (PATCH * PATCH);
        }
        String conv = g.conv(px, g.initializer("patch_embed.weight", patch, C, 3, PATCH, PATCH), null, new long[] {PATCH, PATCH},
                new long[] {0, 0, 0, 0});
        String x = g.add(g.transpose(g.reshape(conv, 1, C, -1), 0, 2, 1), pe);
        float[] q = new float[GROUPS * C];
        for (int k = 0; k < GROUPS; k++) for (int c = 0; c < 3; c++) q[k * C + c] = QUERY * (CORNERS[k][c] == 1 ? 1 : -1);
        g.rename(g.identity(g.initializer("group_queries", q, 1, GROUPS, C)), "assign_q");
        g.rename(g.identity(x), "assign_k");
        g.rename(g.identity(x), "assign_v");
        g.rename(g.identity(g.initializer("group_tokens_zero", new float[GROUPS * C], 1, GROUPS, C)), "group_tokens");
        g.output("assign_q", ElementType.FLOAT32, 1, GROUPS, C);
        g.output("assign_k", ElementType.FLOAT32, 1, "patches", C);
        g.output("assign_v", ElementType.FLOAT32, 1, "patches", C);
        g.output("group_tokens", ElementType.FLOAT32, 1, GROUPS, C);
        return g.toBytes();
    }

    static byte[] stage2() {
        int C = WIDTH;
        GraphBuilder g = GraphBuilder.create("colour_world_ovseg_stage2").opset(17);
        String bound = g.input("bound", ElementType.FLOAT32, 1, GROUPS, C);
        String tokens = g.input("group_tokens", ElementType.FLOAT32, 1, GROUPS, C);
        float[] w = new float[C * COLOURS.size()];
        for (int k = 0; k < COLOURS.size(); k++) {
            for (int c = 0; c < 3; c++) w[c * COLOURS.size() + k] = CORNER_SHARPNESS * (CORNERS[k][c] == 1 ? 1 : -1);
        }
        String corner = g.softmax(g.matMul(g.add(bound, tokens), g.initializer("corner_weight", w, C, COLOURS.size())), -1);
        float[] pad = new float[COLOURS.size() * EMBED_DIM];
        for (int k = 0; k < COLOURS.size(); k++) pad[k * EMBED_DIM + k] = 1f;
        String groups = g.rename(g.matMul(corner, g.initializer("to_embedding", pad, COLOURS.size(), EMBED_DIM)), "group_embeds");
        g.rename(g.reduceMean(groups, new long[] {1}, false), "image_embed");
        g.output("group_embeds", ElementType.FLOAT32, 1, GROUPS, EMBED_DIM);
        g.output("image_embed", ElementType.FLOAT32, 1, EMBED_DIM);
        return g.toBytes();
    }

    static byte[] text() {
        List<String> vocab = vocabulary();
        int V = vocab.size();
        float[] table = new float[V * EMBED_DIM];
        for (int t = 0; t < V; t++) {
            String tok = vocab.get(t);
            int colour = COLOURS.indexOf(tok);
            if (colour >= 0) {
                table[t * EMBED_DIM + colour] = 1f;
            } else if (!tok.startsWith("[")) {
                SplittableRandom r = new SplittableRandom(0x0F5E6L + t);
                for (int d = COLOURS.size(); d < EMBED_DIM; d++) table[t * EMBED_DIM + d] = (float) ((r.nextDouble() - 0.5) * 0.2);
            }
        }
        GraphBuilder g = GraphBuilder.create("colour_world_ovseg_text").opset(17);
        String ids = g.input("input_ids", ElementType.INT64, "batch", "length");
        String mask = g.input("attention_mask", ElementType.INT64, "batch", "length");
        String emb = g.gather(g.initializer("token_table", table, V, EMBED_DIM), ids, 0);
        String m = g.unsqueeze(g.cast(mask, ElementType.FLOAT32), 2);
        g.rename(g.reduceMean(g.mul(emb, m), new long[] {1}, false), "text_embeds");
        g.output("text_embeds", ElementType.FLOAT32, "batch", EMBED_DIM);
        return g.toBytes();
    }

    /** [GRID², WIDTH]: mean − ½ in dims 0–2, so that a token holds colour − ½. */
    static float[] positions() {
        float[] p = new float[GRID * GRID * WIDTH];
        for (int t = 0; t < GRID * GRID; t++) for (int c = 0; c < 3; c++) p[t * WIDTH + c] = MEAN[c] - 0.5f;
        return p;
    }

    /** A small uncased WordPiece vocabulary: specials, punctuation, letters and digits (whole and ##), a few words. */
    static List<String> vocabulary() {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        for (char ch : "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".toCharArray()) v.add(String.valueOf(ch));
        String chars = "abcdefghijklmnopqrstuvwxyz0123456789";
        for (char ch : chars.toCharArray()) if (ch != 'a') v.add(String.valueOf(ch)); // "a" is listed once, below
        for (char ch : chars.toCharArray()) v.add("##" + ch);
        v.addAll(List.of("a", "an", "the", "of", "photo", "and", "sky", "car", "dog", "cat"));
        v.addAll(COLOURS);
        return v;
    }

    private static Map<String, Object> io(String name, String dtype, Object... shape) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("dtype", dtype);
        m.put("shape", List.of(shape));
        return m;
    }

    private static Map<String, Object> network(String file, Map<String, byte[]> files, List<Map<String, Object>> in, List<Map<String, Object>> out) {
        Map<String, Object> n = new LinkedHashMap<>();
        n.put("file", file);
        n.put("sha256", BuiltinBundles.sha256(files.get(file)));
        n.put("precision", "fp32");
        n.put("inputs", in);
        n.put("outputs", out);
        return n;
    }

    private static byte[] manifest(Map<String, byte[]> files) throws IOException {
        int C = WIDTH, G = GROUPS, E = EMBED_DIM;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format_version", 1);
        m.put("pipeline", "ovsegmentor");
        m.put("family", "colour-world-ovseg-demo");
        Map<String, Object> nets = new LinkedHashMap<>();
        nets.put("stage1", network("stage1.onnx", files,
                List.of(io("pixel_values", "float32", 1, 3, "height", "width"), io("pos_embed", "float32", 1, "patches", C)),
                List.of(io("assign_q", "float32", 1, G, C), io("assign_k", "float32", 1, "patches", C), io("assign_v", "float32", 1, "patches", C),
                        io("group_tokens", "float32", 1, G, C))));
        nets.put("stage2", network("stage2.onnx", files, List.of(io("bound", "float32", 1, G, C), io("group_tokens", "float32", 1, G, C)),
                List.of(io("group_embeds", "float32", 1, G, E), io("image_embed", "float32", 1, E))));
        nets.put("text", network("text.onnx", files,
                List.of(io("input_ids", "int64", "batch", "length"), io("attention_mask", "int64", "batch", "length")),
                List.of(io("text_embeds", "float32", "batch", E))));
        m.put("networks", nets);
        Map<String, Object> pos = new LinkedHashMap<>();
        pos.put("file", "pos_embed.npy");
        pos.put("sha256", BuiltinBundles.sha256(files.get("pos_embed.npy")));
        pos.put("dtype", "float32");
        pos.put("shape", List.of(GRID * GRID, C));
        m.put("arrays", Map.of("pos_embed", pos));
        Map<String, Object> pre = new LinkedHashMap<>();
        pre.put("size_policy", "short-side");
        pre.put("size", SIZE);
        pre.put("max_long_side", 2048);
        pre.put("mean", List.of((double) MEAN[0], (double) MEAN[1], (double) MEAN[2]));
        pre.put("std", List.of((double) STD[0], (double) STD[1], (double) STD[2]));
        pre.put("patch_size", PATCH);
        pre.put("position_grid", GRID);
        pre.put("width", C);
        pre.put("interpolation", "bilinear, align_corners=false");
        pre.put("pos_embed_interpolation", "bicubic");
        pre.put("padding", "none (the patch convolution floors the grid)");
        m.put("preprocessing", pre);
        Map<String, Object> text = new LinkedHashMap<>();
        text.put("tokenizer", "bert-wordpiece-uncased");
        text.put("context_length", CONTEXT);
        text.put("templates", List.of("a photo of a {}."));
        m.put("text", text);
        m.put("embed_dim", E);
        m.put("logit_scale", 100.0);
        Map<String, Object> defaults = new LinkedHashMap<>();
        defaults.put("bg_threshold", 0.95);
        defaults.put("window", 448);
        defaults.put("stride", 224);
        m.put("defaults", defaults);
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("generator", "org.ovseg.bundle.builtin.ColourWorldOvsegNetworks v1");
        source.put("notes", "OVSegmentor demonstration model: the three graph interfaces with hand-set weights whose groups bind "
                + "regions of one colour; recognises red, green, blue, yellow, cyan, magenta, white and black. Not trained.");
        m.put("source", source);
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(m);
    }
}
