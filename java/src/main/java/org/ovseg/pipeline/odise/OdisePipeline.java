package org.ovseg.pipeline.odise;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ovseg.OvsegException;
import org.ovseg.bundle.BundleException;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.engine.ProfileHints;
import org.ovseg.image.PilResample;
import org.ovseg.pipeline.common.Mask2FormerInstances;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.kernel.MaskMode;
import org.ovseg.pipeline.Capability;
import org.ovseg.pipeline.PipelineOutput;
import org.ovseg.pipeline.PipelineRequest;
import org.ovseg.pipeline.SegmentationPipeline;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.TextEmbeddingCache;

/**
 * ODISE (Xu et al., CVPR 2023) inference over a bundle of five graphs, with Java between them:
 * <ol>
 *   <li>resize (shortest edge, PIL bilinear), RGB in [0, 1], zero padding to a multiple of 64;
 *   <li>{@value #BACKBONE}: the frozen diffusion UNet with the implicit captioner, run on square crops
 *       (SlideTiling), its four projected feature maps (strides 4–32) averaged over overlaps;
 *   <li>{@value #MASK_GENERATOR}: Mask2Former's pixel decoder and masked-attention decoder: mask
 *       logits and mask features at 1/4, and the normed decoder state of each query;
 *   <li>hard mask pooling of the mask features in each query's mask (the native kernel), then
 *       {@value #MASK_EMBED}: PooledMaskEmbed's projections into the category embedding;
 *   <li>{@value #CLIP}: CLIP ViT with one mask token per query attending to the class token and
 *       the patches its mask covers (MaskCLIP-style attention masking);
 *   <li>classification ({@link OdiseClassifier}) and Mask2Former's inference ({@link PanopticInference}).
 * </ol>
 */
public final class OdisePipeline implements SegmentationPipeline {
    static final String BACKBONE = "odise_backbone", MASK_GENERATOR = "odise_mask_generator", MASK_EMBED = "odise_mask_embed",
            CLIP = "odise_clip", TEXT = "text";
    /** ODISE's test_topk_per_image. */
    static final int INSTANCES_PER_IMAGE = 100;
    static final Set<Capability> CAPABILITIES = java.util.Collections.unmodifiableSet(EnumSet.of(Capability.PANOPTIC, Capability.LOGITS));

    private final OdiseSettings settings;
    private final Map<String, Engine> engines;
    private final OdiseText text;
    private final float[] textProjW, textProjB, nullEmbed;
    private final int P, E;
    private final List<String> backboneOutputs;

    private OdisePipeline(OdiseSettings settings, Map<String, Engine> engines, OdiseText text, float[] w, float[] b, float[] nul, int P, int E,
            List<String> backboneOutputs) {
        this.settings = settings;
        this.engines = engines;
        this.text = text;
        this.textProjW = w;
        this.textProjB = b;
        this.nullEmbed = nul;
        this.P = P;
        this.E = E;
        this.backboneOutputs = backboneOutputs;
    }

    /** Opens the five engines and reads the text projection; the caller owns the result. */
    static OdisePipeline open(ModelBundle bundle, OdiseSettings settings, EngineOptions options, TextEmbeddingCache cache) {
        return open(bundle, settings, options, cache, List.of(BACKBONE, MASK_GENERATOR, MASK_EMBED, CLIP, TEXT));
    }

    /**
     * Opens only the engines of {@code roles} (the benchmark times one stage per JVM and a full-size
     * bundle's five graphs would not all fit beside each other on a small machine); stages whose
     * engine is absent must not be called.
     */
    static OdisePipeline open(ModelBundle bundle, OdiseSettings settings, EngineOptions options, TextEmbeddingCache cache, List<String> roles) {
        BundleManifest m = bundle.manifest();
        java.nio.file.Path json = bundle.dir().resolve("bundle.json");
        if (!m.pipeline().equals(OdiseMethod.NAME)) throw new BundleException(json, "pipeline", "is '" + m.pipeline() + "', not 'odise'");
        float[] w = bundle.array("text_proj_weight").data(), b = bundle.array("text_proj_bias").data(), nul = bundle.array("null_embed").data();
        int E = m.embedDim(), P = b.length;
        if (w.length != P * E || nul.length != E) {
            throw new BundleException(json, "arrays", "text_proj_weight must be [" + P + ", " + E + "] and null_embed [1, " + E + "]");
        }
        List<String> outs = bundle.network(BACKBONE).outputs().stream().map(s -> s.name()).toList();
        Map<String, Engine> engines = new LinkedHashMap<>();
        ProfileHints hints = ProfileHints.of(m).withShortSide(settings.shortSide(), settings.maxSize());
        try {
            for (String role : roles) engines.put(role, Engines.open(bundle, role, options, hints));
            OdiseText t = engines.containsKey(TEXT) ? new OdiseText(engines.get(TEXT), m.text().contextLength(), E, bundle.manifestSha256(), cache) : null;
            return new OdisePipeline(settings, engines, t, w, b, nul, P, E, outs);
        } catch (RuntimeException e) {
            engines.values().forEach(Engine::close);
            throw e;
        }
    }

    /** The engine of {@code role}, for the benchmark that times each network as this pipeline feeds it. */
    Engine engine(String role) {
        return engines.get(role);
    }

    OdiseSettings settings() {
        return settings;
    }

    @Override
    public String name() {
        return OdiseMethod.NAME;
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }

    @Override
    public Map<String, String> backends() {
        Map<String, String> b = new LinkedHashMap<>();
        engines.forEach((role, e) -> b.put(role, SegmentationPipeline.backendLabel(e)));
        return java.util.Collections.unmodifiableMap(b);
    }

    @Override
    public void validate(List<String> texts) {
        for (String label : texts) {
            for (String syn : synonyms(label)) {
                text.checkFits(settings.categoryPrompt().replace("{}", syn));
                text.checkFits(settings.clipPrompt().replace("{}", syn));
            }
        }
    }

    static List<String> synonyms(String label) {
        List<String> out = new ArrayList<>();
        for (String s : label.split(java.util.regex.Pattern.quote(OdiseSettings.SYNONYM_SEPARATOR))) if (!s.isBlank()) out.add(s.strip());
        if (out.isEmpty()) throw new OvsegException("label '" + label + "' has no name between its '" + OdiseSettings.SYNONYM_SEPARATOR + "' separators");
        return out;
    }

    @Override
    public PipelineOutput run(RgbImage image, PipelineRequest request) {
        if (!(request instanceof PipelineRequest.Segment seg)) throw new OvsegException("odise does not serve " + request.getClass().getSimpleName());
        Map<String, Double> timings = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        List<String> names = seg.names();
        OdiseClassifier.Texts texts = texts(names);
        t0 = lap(timings, "text", t0);

        int[] hw = settings.resizedShape(image.height(), image.width());
        int h = hw[0], w = hw[1], Hp = settings.pad(h), Wp = settings.pad(w);
        byte[] resized = PilResample.resize(image.rgb(), image.width(), image.height(), w, h, PilResample.Filter.BILINEAR);
        float[] padded = new float[3 * Hp * Wp];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) padded[(c * Hp + y) * Wp + x] = (resized[(y * w + x) * 3 + c] & 0xff) / 255f;
            }
        }
        Map<String, float[]> features = new LinkedHashMap<>();
        Map<String, long[]> featureShapes = new LinkedHashMap<>();
        backbone(padded, Hp, Wp, features, featureShapes);
        t0 = lap(timings, "backbone", t0);

        MaskGeneratorOutput mg = maskGenerator(features, featureShapes, Hp, Wp);
        float[] maskLogits = mg.maskLogits(), maskFeatures = mg.maskFeatures(), decoderOutput = mg.decoderOutput();
        int Q = mg.queries(), M = mg.maskDim(), h4 = Hp / 4, w4 = Wp / 4;
        t0 = lap(timings, "mask_generator", t0);

        // MaskPooling(hard): sigmoid(logit) > 0.5. The kernel tests logit > 0; the two differ only for
        // logits in (0, ~3e-8], whose float sigmoid rounds to 0.5 (a deviation of one pixel at a near-tie).
        float[] pooled = new float[Q * M];
        FloatBuffer pooledBuf = direct(Q * M);
        CpuKernels.maskPool(direct(maskFeatures), direct(maskLogits), 1, M, Q, h4 * w4, MaskMode.HARD, false, pooledBuf);
        pooledBuf.get(0, pooled);
        t0 = lap(timings, "mask_pooling", t0);
        float[] maskEmbed = runOne(MASK_EMBED, Map.of("pooled_features", HostTensor.of(pooled, 1, Q, M), "decoder_output",
                HostTensor.of(decoderOutput, 1, Q, decoderOutput.length / Q)), "mask_embed", Q * P);
        t0 = lap(timings, "mask_embed", t0);

        float[] clipEmbed = clipBranch(resized, w, h, maskLogits, Q, h4, w4);
        t0 = lap(timings, "clip_branch", t0);

        OdiseClassifier cls = OdiseClassifier.classify(maskEmbed, clipEmbed, Q, texts, settings.categoryLogitScale(), settings.clipLogitScale(),
                settings.alpha(), settings.beta());
        t0 = lap(timings, "classification", t0);

        boolean[] isThing = new boolean[names.size()];
        for (int k = 0; k < seg.things().size(); k++) isThing[k] = true;
        MaskRows rows = new MaskRows(maskLogits, Q, h4, w4, Hp, Wp, h, w, image.height(), image.width());
        PanopticInference.Result r = PanopticInference.run(cls.probabilities(), Q, names.size(), rows, image.height(), image.width(), isThing,
                settings.objectMaskThreshold(), settings.overlapThreshold(), settings.keepLogits());
        t0 = lap(timings, "panoptic_merge", t0);
        List<PipelineOutput.Instance> instances = instances(cls.maskCls(), Q, names.size(), isThing,
                new MaskRows(maskLogits, Q, h4, w4, Hp, Wp, h, w, image.height(), image.width()), image.width(), image.height());
        lap(timings, "instances", t0);
        return new PipelineOutput(image.width(), image.height(), r.labels(), r.scores(), r.semantic(), r.panoptic(), List.of(), timings, instances);
    }

    /** The mask generator's outputs as arrays: mask logits [Q, Hp/4, Wp/4], mask features [M, Hp/4, Wp/4], decoder state [Q, D]. */
    record MaskGeneratorOutput(float[] maskLogits, float[] maskFeatures, float[] decoderOutput, int queries, int maskDim) {}

    /** Runs the mask generator on the averaged backbone features of a padded Hp × Wp image. */
    MaskGeneratorOutput maskGenerator(Map<String, float[]> features, Map<String, long[]> featureShapes, int Hp, int Wp) {
        int h4 = Hp / 4, w4 = Wp / 4;
        Map<String, HostTensor> in = new LinkedHashMap<>();
        try {
            for (var e : features.entrySet()) in.put(e.getKey(), HostTensor.of(e.getValue(), featureShapes.get(e.getKey())));
            Map<String, HostTensor> out = engines.get(MASK_GENERATOR).run(in);
            try {
                HostTensor ml = require(out, "mask_logits"), mf = require(out, "mask_features"), dec = require(out, "decoder_output");
                int Q = (int) ml.dim(1);
                if (ml.dim(2) != h4 || ml.dim(3) != w4 || mf.dim(2) != h4 || mf.dim(3) != w4 || dec.dim(1) != Q) {
                    throw new OvsegException("mask generator returned mask_logits " + ml.describe() + ", mask_features " + mf.describe()
                            + ", decoder_output " + dec.describe() + " for a " + Hp + "x" + Wp + " input");
                }
                return new MaskGeneratorOutput(ml.toFloatArray(), mf.toFloatArray(), dec.toFloatArray(), Q, (int) mf.dim(1));
            } finally {
                out.values().forEach(HostTensor::close);
            }
        } finally {
            in.values().forEach(HostTensor::close);
        }
    }

    /**
     * Mask2Former's instance inference, which ODISE runs beside panoptic (instance_on, panoptic_on,
     * test_topk_per_image 100 in its configs): on the same log-probabilities the panoptic merge
     * takes, things only, each picked query's mask at the original size. One pass over the rows
     * measures every picked query (MaskRows produces all queries' rows together).
     */
    static List<PipelineOutput.Instance> instances(float[] maskCls, int Q, int K, boolean[] isThing, MaskRows rows, int W, int H) {
        List<Mask2FormerInstances.Pick> picks = Mask2FormerInstances.select(maskCls, Q, K, INSTANCES_PER_IMAGE, k -> isThing[k]);
        final class Measured {
            final java.util.BitSet bits = new java.util.BitSet();
            long area;
            double sigmoidSum;
        }
        Map<Integer, Measured> measured = new java.util.TreeMap<>();
        for (Mask2FormerInstances.Pick p : picks) measured.putIfAbsent(p.query(), new Measured());
        if (!measured.isEmpty()) {
            float[][] row = new float[Q][W];
            for (int y = 0; y < H; y++) {
                rows.row(y, row);
                for (var e : measured.entrySet()) {
                    float[] r = row[e.getKey()];
                    Measured m = e.getValue();
                    for (int x = 0; x < W; x++) {
                        if (r[x] > 0) { // mask_pred > 0, the official binarisation
                            m.bits.set(y * W + x);
                            m.area++;
                            m.sigmoidSum += 1.0 / (1.0 + Math.exp(-r[x]));
                        }
                    }
                }
            }
        }
        Map<Integer, Mask2FormerInstances.QueryMask> masks = new java.util.HashMap<>();
        measured.forEach((q, m) -> masks.put(q, new Mask2FormerInstances.QueryMask(m.bits, m.area, m.sigmoidSum)));
        return Mask2FormerInstances.assemble(picks, masks);
    }

    /** Runs the backbone on each crop and averages overlaps into one map per output. */
    void backbone(float[] padded, int Hp, int Wp, Map<String, float[]> features, Map<String, long[]> shapes) {
        SlideTiling tiling = SlideTiling.of(Hp, Wp, settings.backboneSize());
        int s = tiling.crop();
        Map<String, SlideTiling.Accumulator> acc = new LinkedHashMap<>();
        Map<String, Integer> channels = new LinkedHashMap<>();
        float[] crop = new float[3 * s * s];
        for (SlideTiling.Tile t : tiling.tiles()) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < s; y++) System.arraycopy(padded, (c * Hp + t.y() + y) * Wp + t.x(), crop, (c * s + y) * s, s);
            }
            try (HostTensor px = HostTensor.of(crop, 1, 3, s, s)) {
                Map<String, HostTensor> out = engines.get(BACKBONE).run(Map.of("pixel_values", px));
                try {
                    for (String name : backboneOutputs) {
                        HostTensor f = require(out, name);
                        int C = (int) f.dim(1), side = (int) f.dim(2);
                        if (f.dim(3) != side || s % side != 0) throw new OvsegException("backbone output " + name + " is " + f.describe() + " for a " + s + "² crop");
                        SlideTiling.Accumulator a = acc.computeIfAbsent(name, n -> new SlideTiling.Accumulator(tiling, C, s / side));
                        channels.put(name, C);
                        a.add(t, f.toFloatArray(), 0, s);
                    }
                } finally {
                    out.values().forEach(HostTensor::close);
                }
            }
        }
        for (var e : acc.entrySet()) {
            features.put(e.getKey(), e.getValue().average());
            shapes.put(e.getKey(), new long[] {1, channels.get(e.getKey()), e.getValue().height(), e.getValue().width()});
        }
    }

    /**
     * The CLIP branch. Official quirk, kept: the image is the resized image without its padding,
     * the masks cover the padded extent, and both are stretched to 336² independently, so masks and
     * image disagree by the padding's share (≤ 63 px of 1024 at the official size).
     */
    float[] clipBranch(byte[] resized, int w, int h, float[] maskLogits, int Q, int h4, int w4) {
        int S = settings.clipSize(), p = settings.clipPatch(), g = S / p;
        float[] px = Resampling.resizeNormalize(resized, w, h, S, S, settings.clipMean(), settings.clipStd());
        float[] up = Resampling.resizePlanes(maskLogits, Q, w4, h4, S, S);
        float[] allowed = new float[Q * g * g];
        for (int q = 0; q < Q; q++) {
            for (int gy = 0; gy < g; gy++) {
                for (int gx = 0; gx < g; gx++) {
                    // max σ = σ(max logit): the sigmoid (Math.exp is semi-monotonic by its spec, and so are
                    // the double ops and the float cast) never decreases, and Math.max passes NaN on in
                    // both forms; one exp per patch instead of p².
                    float max = Float.NEGATIVE_INFINITY;
                    for (int y = gy * p; y < gy * p + p; y++) {
                        int row = (q * S + y) * S;
                        for (int x = gx * p; x < gx * p + p; x++) max = Math.max(max, up[row + x]);
                    }
                    allowed[(q * g + gy) * g + gx] = PanopticInference.sigmoid(max) >= 0.5f ? 1f : 0f; // masked out where every pixel is below 0.5
                }
            }
        }
        return runOne(CLIP, Map.of("pixel_values", HostTensor.of(px, 1, 3, S, S), "mask_attention", HostTensor.of(allowed, 1, Q, g * g)),
                "mask_embeds", Q * E);
    }

    /** Category and CLIP texts of every synonym of every label. */
    OdiseClassifier.Texts texts(List<String> names) {
        List<String> catPrompts = new ArrayList<>(), clipPrompts = new ArrayList<>();
        List<Integer> cls = new ArrayList<>();
        boolean[] seen = new boolean[names.size()];
        for (int k = 0; k < names.size(); k++) {
            for (String s : synonyms(names.get(k))) {
                catPrompts.add(settings.categoryPrompt().replace("{}", s));
                clipPrompts.add(settings.clipPrompt().replace("{}", s));
                cls.add(k);
                if (settings.seenNames().contains(s)) seen[k] = true;
            }
        }
        float[] cat = project(text.embed(catPrompts), catPrompts.size());
        float[] nul = project(nullEmbed, 1);
        float[] clip = text.embed(clipPrompts);
        return new OdiseClassifier.Texts(names.size(), cls.stream().mapToInt(Integer::intValue).toArray(), cat, nul, clip, seen);
    }

    /** CategoryEmbed.text_proj: x·Wᵀ + b on unnormalised CLIP text embeddings. */
    private float[] project(float[] x, int n) {
        float[] out = new float[n * P];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < P; o++) {
                double s = textProjB[o];
                for (int j = 0; j < E; j++) s += (double) textProjW[o * E + j] * x[i * E + j];
                out[i * P + o] = (float) s;
            }
        }
        return out;
    }

    float[] runOne(String role, Map<String, HostTensor> in, String output, int expected) {
        try {
            Map<String, HostTensor> out = engines.get(role).run(in);
            try {
                float[] v = require(out, output).toFloatArray();
                if (v.length != expected) throw new OvsegException(role + " returned " + v.length + " values in '" + output + "', expected " + expected);
                return v;
            } finally {
                out.values().forEach(HostTensor::close);
            }
        } finally {
            in.values().forEach(HostTensor::close);
        }
    }

    private static HostTensor require(Map<String, HostTensor> out, String name) {
        HostTensor t = out.get(name);
        if (t == null) throw new OvsegException("network output '" + name + "' is missing (has " + out.keySet() + ")");
        return t;
    }

    private static long lap(Map<String, Double> timings, String stage, long t0) {
        long t1 = System.nanoTime();
        timings.merge(stage, (t1 - t0) / 1e6, Double::sum);
        return t1;
    }

    private static FloatBuffer direct(int n) {
        return ByteBuffer.allocateDirect(Math.max(1, n) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static FloatBuffer direct(float[] a) {
        FloatBuffer f = direct(a.length);
        f.put(a).flip();
        return f;
    }

    @Override
    public void close() {
        for (Engine e : engines.values()) e.close();
    }
}
