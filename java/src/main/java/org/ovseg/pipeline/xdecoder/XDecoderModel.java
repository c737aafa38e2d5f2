package org.ovseg.pipeline.xdecoder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ovseg.OvsegException;
import org.ovseg.bundle.BundleException;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.engine.ProfileHints;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.SegmentationPipeline;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.ClipTokenizer;
import org.ovseg.text.PromptTemplates;
import org.ovseg.text.TextEmbedder;
import org.ovseg.text.TextEmbeddingCache;

/**
 * The four networks of an X-Decoder bundle (tools/export/export_xdecoder.py) and how ovseg drives
 * them: image preprocessing, class embeddings, the decoder in segmentation and grounding mode.
 * Thread-safe when the engines are.
 */
final class XDecoderModel implements AutoCloseable {
    /** The official evaluation's background class text (appended after the labels). */
    static final String DEFAULT_BACKGROUND = "A background in coco.";
    private static final PromptTemplates AS_IS = new PromptTemplates("as-is", List.of("{}"));

    final Engine backbone, decoder, grounding, text;
    final TextEmbedder embedder;
    final PromptTemplates templates;
    final String background;
    final float[] mean, std;
    final int size, maxLongSide, dim;
    final float objectThreshold, overlapThreshold;
    final Map<String, String> backends = new LinkedHashMap<>();
    final Map<String, String> precisions = new LinkedHashMap<>();

    private XDecoderModel(ModelBundle bundle, Engine[] e, TextEmbeddingCache cache, EngineOptions options) {
        BundleManifest m = bundle.manifest();
        backbone = e[0];
        decoder = e[1];
        grounding = e[2];
        text = e[3];
        dim = m.embedDim();
        embedder = new TextEmbedder(text, "input_ids", "class_emb", m.text().contextLength(), dim, bundle.manifestSha256() + ":text", cache);
        templates = m.text().templates().isEmpty() ? PromptTemplates.named(m.text().templateSet())
                : new PromptTemplates("bundle", m.text().templates());
        Object bg = m.defaults().get("background_text");
        background = bg instanceof String s ? s : DEFAULT_BACKGROUND;
        BundleManifest.Preprocessing pre = m.preprocessing();
        mean = floats(pre.mean());
        std = floats(pre.std());
        size = pre.size();
        maxLongSide = pre.maxLongSide();
        objectThreshold = number(m, "object_mask_threshold", 0.8f);
        overlapThreshold = number(m, "overlap_threshold", 0.8f);
        String[] roles = {"backbone", "decoder", "grounding", "text"};
        for (int i = 0; i < roles.length; i++) {
            backends.put(roles[i], SegmentationPipeline.backendLabel(e[i]));
            precisions.put(roles[i], Engines.selectVariant(bundle.variantFiles(roles[i]), e[i].backend(), options));
        }
    }

    static XDecoderModel open(ModelBundle bundle, EngineOptions options, TextEmbeddingCache cache) {
        BundleManifest m = bundle.manifest();
        if (!m.pipeline().equals("xdecoder")) {
            throw new BundleException(bundle.dir().resolve("bundle.json"), "pipeline", "is '" + m.pipeline() + "', not 'xdecoder'");
        }
        if (m.text() == null) throw new BundleException(bundle.dir().resolve("bundle.json"), "text", "is missing");
        String[] roles = {"backbone", "decoder", "grounding", "text"};
        Engine[] e = new Engine[roles.length];
        try {
            ProfileHints hints = ProfileHints.of(m);
            for (int i = 0; i < roles.length; i++) e[i] = Engines.open(bundle, roles[i], options, hints);
            return new XDecoderModel(bundle, e, cache, options);
        } catch (RuntimeException ex) {
            for (Engine x : e) if (x != null) x.close();
            throw ex;
        }
    }

    private static float number(BundleManifest m, String key, float fallback) {
        Object v = m.defaults().get(key);
        return v instanceof Number n ? n.floatValue() : fallback;
    }

    private static float[] floats(List<Double> v) {
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) f[i] = v.get(i).floatValue();
        return f;
    }

    /** The official class-name clean-up before prompting. */
    static String cleanLabel(String label) {
        return label.replace("-other", "").replace("-merged", "").replace("-stuff", "");
    }

    /** @return [(K+1)·P] unit class embeddings: the labels under the 81 templates, then the background text */
    float[] classEmbeddings(List<String> labels) {
        List<String> clean = labels.stream().map(XDecoderModel::cleanLabel).toList();
        float[][] rows = embedder.embed(clean, templates);
        float[][] bg = embedder.embed(List.of(background), AS_IS);
        float[] out = new float[(rows.length + 1) * dim];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, out, i * dim, dim);
        System.arraycopy(bg[0], 0, out, rows.length * dim, dim);
        return out;
    }

    /** The preprocessed image: planar normalised pixels padded to a multiple of 32. */
    record Input(float[] pixels, int paddedH, int paddedW, int validH, int validW) {}

    /** detectron2's ResizeShortestEdge sizes: shorter side {@code size}, longer side at most {@code maxLong}. */
    static int[] resizedSize(int h, int w, int size, int maxLong) {
        double scale = (double) size / Math.min(h, w);
        if (Math.max(h, w) * scale > maxLong) scale = (double) maxLong / Math.max(h, w);
        return new int[] {(int) (h * scale + 0.5), (int) (w * scale + 0.5)};
    }

    Input preprocess(RgbImage image, int shortSide) {
        int[] hw = resizedSize(image.height(), image.width(), shortSide, Math.max(maxLongSide, shortSide));
        int nh = hw[0], nw = hw[1];
        float[] px = Resampling.resizeNormalize(image.rgb(), image.width(), image.height(), nw, nh, mean, std);
        int ph = (nh + 31) / 32 * 32, pw = (nw + 31) / 32 * 32;
        float[] padded = new float[3 * ph * pw];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < nh; y++) System.arraycopy(px, (c * nh + y) * nw, padded, (c * ph + y) * pw, nw);
        }
        return new Input(padded, ph, pw, nh, nw);
    }

    /** Backbone outputs (mask_features, level0..2); the caller closes them. */
    Map<String, HostTensor> features(Input in) {
        try (HostTensor px = HostTensor.of(in.pixels(), 1, 3, in.paddedH(), in.paddedW())) {
            return backbone.run(Map.of("pixel_values", px));
        }
    }

    /** The attention-mask resampling matrices for the three level sizes. */
    static Map<String, HostTensor> resampling(Map<String, HostTensor> features) {
        HostTensor mf = features.get("mask_features");
        int h4 = (int) mf.dim(2), w4 = (int) mf.dim(3);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (int l = 0; l < 3; l++) {
            HostTensor lv = features.get("level" + l);
            int h = (int) lv.dim(2), w = (int) lv.dim(3);
            out.put("ry" + l, HostTensor.of(Resize.bicubicAntialias(h4, h), h, h4));
            out.put("rx" + l, HostTensor.of(Resize.bicubicAntialias(w4, w), w, w4));
        }
        return out;
    }

    /** Decoder outputs in segmentation mode (pred_logits, pred_masks, class_emb); the caller closes them. */
    Map<String, HostTensor> decode(Map<String, HostTensor> features, Map<String, HostTensor> mats, float[] classEmb, int classes) {
        try (HostTensor t = HostTensor.of(classEmb, classes, dim)) {
            Map<String, HostTensor> in = new LinkedHashMap<>(features);
            in.putAll(mats);
            in.put("text_emb", t);
            return decoder.run(in);
        }
    }

    /** Sentence embeddings for grounding: every sentence's real tokens (concatenated) and its class embedding. */
    record Sentences(float[] tokens, int tokenCount, float[] classEmb, int count) {}

    Sentences sentences(List<String> sentences, int contextLength) {
        ClipTokenizer tok = ClipTokenizer.shared();
        List<int[]> ids = new ArrayList<>();
        int len = 2;
        for (String s : sentences) {
            int[] t = tok.tokenize(s, contextLength); // the official tokenizer truncates to 77 as well
            ids.add(t);
            len = Math.max(len, t.length);
        }
        // Padding after the end token cannot change the outputs at real tokens (causal mask).
        long[] flat = new long[ids.size() * len];
        int total = 0;
        for (int r = 0; r < ids.size(); r++) {
            int[] t = ids.get(r);
            for (int j = 0; j < t.length; j++) flat[r * len + j] = t[j];
            total += t.length;
        }
        float[] tokEmb, clsEmb;
        try (HostTensor in = HostTensor.of(flat, ids.size(), len)) {
            Map<String, HostTensor> res = text.run(Map.of("input_ids", in));
            try {
                tokEmb = res.get("token_emb").toFloatArray();
                clsEmb = res.get("class_emb").toFloatArray();
            } finally {
                res.values().forEach(HostTensor::close);
            }
        }
        float[] tokens = new float[total * dim];
        int at = 0;
        for (int r = 0; r < ids.size(); r++) {
            int n = ids.get(r).length;
            System.arraycopy(tokEmb, r * len * dim, tokens, at * dim, n * dim);
            at += n;
        }
        return new Sentences(tokens, total, clsEmb, ids.size());
    }

    /** Decoder outputs in grounding mode (grounding_masks, grounding_emb); the caller closes them. */
    Map<String, HostTensor> ground(Map<String, HostTensor> features, Map<String, HostTensor> mats, Sentences s) {
        if (s.tokenCount() == 0) throw new OvsegException("no tokens to ground");
        try (HostTensor t = HostTensor.of(s.tokens(), s.tokenCount(), dim)) {
            Map<String, HostTensor> in = new LinkedHashMap<>(features);
            in.putAll(mats);
            in.put("grounding_tokens", t);
            return grounding.run(in);
        }
    }

    @Override
    public void close() {
        for (Engine e : new Engine[] {backbone, decoder, grounding, text}) e.close();
    }
}
