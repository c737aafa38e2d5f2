package org.ovseg.bundle.builtin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ovseg.bundle.Npy;

/** The files of {@code builtin:colour-world-odise} (see {@link ColourWorldOdiseNetworks}). */
final class ColourWorldOdiseBundle {
    private static Map<String, byte[]> cached;

    private ColourWorldOdiseBundle() {}

    /** The bundle's files, file name → bytes (computed once per process, byte-for-byte deterministic). */
    static synchronized Map<String, byte[]> files() {
        if (cached != null) return cached;
        try {
            Map<String, byte[]> f = new LinkedHashMap<>();
            f.put("backbone.onnx", ColourWorldOdiseNetworks.backboneGraph());
            f.put("mask_generator.onnx", ColourWorldOdiseNetworks.maskGeneratorGraph());
            f.put("mask_embed.onnx", ColourWorldOdiseNetworks.maskEmbedGraph());
            f.put("clip.onnx", ColourWorldOdiseNetworks.clipGraph());
            f.put("text.onnx", ColourWorldNetworks.textGraph());
            int P = ColourWorldOdiseNetworks.PROJECTION, E = ColourWorldOdiseNetworks.EMBED_DIM;
            f.put("text_proj_weight.npy", npy(ColourWorldOdiseNetworks.textProjWeight(), P, E));
            f.put("text_proj_bias.npy", npy(new float[P], P));
            f.put("null_embed.npy", npy(ColourWorldOdiseNetworks.nullEmbed(), 1, E));
            f.put("bundle.json", manifest(f));
            cached = java.util.Collections.unmodifiableMap(f);
            return cached;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] manifest(Map<String, byte[]> files) throws IOException {
        int F = ColourWorldOdiseNetworks.FEATURES, M = ColourWorldOdiseNetworks.MASK_DIM, P = ColourWorldOdiseNetworks.PROJECTION;
        int Q = ColourWorldOdiseNetworks.QUERIES;
        int E = ColourWorldOdiseNetworks.EMBED_DIM, G = ColourWorldOdiseNetworks.CLIP_GRID, S = G * ColourWorldOdiseNetworks.CLIP_PATCH;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format_version", 1);
        m.put("pipeline", "odise");
        m.put("family", "colour-world-odise-demo");
        Map<String, Object> nets = new LinkedHashMap<>();
        List<Map<String, Object>> backboneOut = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int s = ColourWorldOdiseNetworks.STRIDES[i];
            backboneOut.add(io("s" + (i + 2), "tiles", F, "crop/" + s, "crop/" + s));
        }
        nets.put("odise_backbone", network("backbone.onnx", files, List.of(io("pixel_values", "tiles", 3, "crop", "crop")), backboneOut));
        List<Map<String, Object>> feats = new ArrayList<>();
        feats.add(io("s2", 1, F, "h4", "w4"));
        for (int i = 1; i < 4; i++) {
            int s = ColourWorldOdiseNetworks.STRIDES[i];
            feats.add(io("s" + (i + 2), 1, F, "h" + s, "w" + s));
        }
        nets.put("odise_mask_generator", network("mask_generator.onnx", files, feats,
                List.of(io("mask_logits", 1, Q, "h4", "w4"), io("mask_features", 1, M, "h4", "w4"), io("decoder_output", 1, Q, M))));
        nets.put("odise_mask_embed", network("mask_embed.onnx", files,
                List.of(io("pooled_features", 1, "queries", M), io("decoder_output", 1, "queries", M)), List.of(io("mask_embed", 1, "queries", P))));
        nets.put("odise_clip", network("clip.onnx", files, List.of(io("pixel_values", 1, 3, S, S), io("mask_attention", 1, "queries", G * G)),
                List.of(io("mask_embeds", 1, "queries", E))));
        Map<String, Object> ids = io("input_ids", "batch", "length");
        ids.put("dtype", "int64");
        nets.put("text", network("text.onnx", files, List.of(ids), List.of(io("text_embeds", "batch", E))));
        m.put("networks", nets);
        Map<String, Object> arrays = new LinkedHashMap<>();
        arrays.put("text_proj_weight", array("text_proj_weight.npy", files, List.of(P, E)));
        arrays.put("text_proj_bias", array("text_proj_bias.npy", files, List.of(P)));
        arrays.put("null_embed", array("null_embed.npy", files, List.of(1, E)));
        m.put("arrays", arrays);
        Map<String, Object> pre = new LinkedHashMap<>();
        pre.put("size_policy", "short-side");
        pre.put("size", 256); // official: 1024; the demo keeps the tests fast and still tiles (crop 128)
        pre.put("max_long_side", 640);
        pre.put("mean", floats(ColourWorldNetworks.MEAN));
        pre.put("std", floats(ColourWorldNetworks.STD));
        pre.put("patch_size", ColourWorldOdiseNetworks.CLIP_PATCH);
        pre.put("position_grid", G);
        pre.put("width", ColourWorldOdiseNetworks.CLIP_WIDTH);
        pre.put("interpolation", "PIL bilinear (ResizeShortestEdge); CLIP branch: torch bilinear to 336, align_corners=false");
        pre.put("pos_embed_interpolation", "none (the CLIP branch runs at its native 336x336)");
        pre.put("padding", "zero, bottom-right, to a multiple of 64");
        m.put("preprocessing", pre);
        Map<String, Object> text = new LinkedHashMap<>();
        text.put("tokenizer", "clip-bpe");
        text.put("context_length", ColourWorldNetworks.CONTEXT);
        text.put("template_set", "single");
        m.put("text", text);
        m.put("embed_dim", E);
        m.put("logit_scale", 1 / 0.07);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("size_divisibility", 64);
        d.put("backbone_size", 128); // official: 512
        d.put("category_logit_scale", 1 / 0.07);
        d.put("clip_logit_scale", 100.0);
        d.put("alpha", 0.3);
        d.put("beta", 0.7);
        d.put("object_mask_threshold", 0.0);
        d.put("overlap_threshold", 0.8);
        d.put("seen_labels", "red\ngreen\nblue\nyellow"); // the demo's "training" vocabulary: α for these, β for the rest
        d.put("category_prompt", "{}");
        d.put("clip_prompt", "a photo of a {}.");
        m.put("defaults", d);
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("generator", "org.ovseg.bundle.builtin.ColourWorldOdiseNetworks v1");
        source.put("notes", "ODISE demonstration model: the five ODISE graph interfaces with hand-set weights that propose one mask per "
                + "colour region and name it by the colour words red, green, blue, yellow, cyan, magenta, white and black. Not trained.");
        m.put("source", source);
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(m);
    }

    private static Map<String, Object> io(String name, Object... shape) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("dtype", "float32");
        m.put("shape", List.of(shape));
        return m;
    }

    private static Map<String, Object> network(String file, Map<String, byte[]> files, List<Map<String, Object>> inputs, List<Map<String, Object>> outputs) {
        Map<String, Object> n = new LinkedHashMap<>();
        n.put("file", file);
        n.put("sha256", BuiltinBundles.sha256(files.get(file)));
        n.put("precision", "fp32");
        n.put("inputs", inputs);
        n.put("outputs", outputs);
        return n;
    }

    private static Map<String, Object> array(String file, Map<String, byte[]> files, List<Integer> shape) {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("file", file);
        a.put("sha256", BuiltinBundles.sha256(files.get(file)));
        a.put("dtype", "float32");
        a.put("shape", shape);
        return a;
    }

    private static byte[] npy(float[] data, long... shape) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Npy.writeFloats(out, data, shape);
        return out.toByteArray();
    }

    private static List<Double> floats(float[] a) {
        List<Double> l = new ArrayList<>();
        for (float f : a) l.add((double) f);
        return l;
    }
}
