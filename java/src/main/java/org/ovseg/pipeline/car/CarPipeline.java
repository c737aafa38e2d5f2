package org.ovseg.pipeline.car;

import java.util.List;
import org.ovseg.bundle.BundleException;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.DenseCrf;
import org.ovseg.text.PromptTemplates;
import org.ovseg.text.TextEmbedder;
import org.ovseg.text.TextEmbeddingCache;

/**
 * CLIP-as-RNN from a "car" bundle: networks {@code text} (the CAM model's text tower),
 * {@code car_cam} (Grad-CAM + attention, tools/export/export_car.py), {@code
 * car_classifier_image} and {@code car_classifier_text} (the mask classifier's CLIP); array
 * {@code pos_embed}. Owns its engines; close() releases them. Thread-safe if the engines are.
 */
public final class CarPipeline implements AutoCloseable {
    private static final PromptTemplates AS_IS = new PromptTemplates("as-is", List.of("{}"));
    private static final PromptTemplates ORIGAMI = new PromptTemplates("car-background", List.of("a clean origami {}."));
    private final Engine text, cam, classifierImage, classifierText;
    private final CarLoop loop;
    private final CarSettings settings;
    private final TextEmbedder camText, classifierTexts;
    private java.util.Map<String, String> precisions = java.util.Map.of(); // set once by open

    private CarPipeline(Engine text, Engine cam, Engine classifierImage, Engine classifierText, CarLoop loop, CarSettings settings,
            TextEmbedder camText, TextEmbedder classifierTexts) {
        this.camText = camText;
        this.classifierTexts = classifierTexts;
        this.text = text;
        this.cam = cam;
        this.classifierImage = classifierImage;
        this.classifierText = classifierText;
        this.loop = loop;
        this.settings = settings;
    }

    /** Default memory budget of one Grad-CAM run's batched backward (see {@link GradCamProposals}). */
    public static final long DEFAULT_GRADCAM_MEMORY = 1L << 30;

    /** Opens every network of the bundle, with the default Grad-CAM memory budget. */
    public static CarPipeline open(ModelBundle bundle, EngineOptions options, TextEmbeddingCache cache, CarSettings settings) {
        return open(bundle, options, cache, settings, DEFAULT_GRADCAM_MEMORY);
    }

    /**
     * Opens every network of the bundle.
     *
     * @param gradCamMemory bytes the Grad-CAM graph's batched backward may take; more queries
     *     than fit run in chunks (same maps, one more forward pass per chunk); 0 = no limit
     */
    public static CarPipeline open(ModelBundle bundle, EngineOptions options, TextEmbeddingCache cache, CarSettings settings,
            long gradCamMemory) {
        BundleManifest m = bundle.manifest();
        if (!m.pipeline().equals("car")) throw new BundleException(bundle.dir().resolve("bundle.json"), "pipeline", "is '" + m.pipeline() + "', not 'car'");
        CrfImage crfImage = crfImage(bundle);
        BundleManifest.Preprocessing pre = m.preprocessing();
        float[] mean = floats(pre.mean()), std = floats(pre.std());
        Engine text = null, cam = null, ci = null, ct = null;
        try {
            org.ovseg.engine.ProfileHints hints = org.ovseg.engine.ProfileHints.of(m);
            text = Engines.open(bundle, "text", options, hints);
            // The Grad-CAM graph's backward is batched by the query count, which falls from step to
            // step: with ORT's arena a ViT-B/16 at 513² with 20 queries held 15 GB and ran its first
            // calls 1.5-2x slower; without it, 8.1 GB (RESULTS.md, "CaR: ONNX Runtime's arena").
            cam = Engines.open(bundle, "car_cam", options.toBuilder().cpuMemoryArena(false).build(), hints);
            ci = Engines.open(bundle, "car_classifier_image", options, hints);
            ct = Engines.open(bundle, "car_classifier_text", options, hints);
            int E = m.embedDim();
            int classifierDim = (int) bundle.network("car_classifier_text").outputs().get(0).shape()[1];
            TextEmbedder camText = new TextEmbedder(text, "input_ids", "text_embeds", m.text().contextLength(), E, bundle.manifestSha256() + ":text", cache);
            TextEmbedder clsText = new TextEmbedder(ct, "input_ids", "text_embeds", m.text().contextLength(), classifierDim,
                    bundle.manifestSha256() + ":classifier", cache);
            GradCamProposals proposals = new GradCamProposals(cam, texts -> camText.embed(texts, AS_IS), bundle.array("pos_embed").data(),
                    pre.positionGrid(), pre.patchSize(), pre.width(), mean, std, settings.clipEsThreshold(), gradCamMemory);
            CarLoop.ProposalGenerator gen = (image, queries, background) -> proposals.propose(image, queries,
                    background.stream().map(b -> "a clean origami " + b + ".").toList());
            ClipPromptClassifier classifier = new ClipPromptClassifier(ci, clsText, mean, std, (float) m.logitScale());
            DenseCrf.Target crf = crfTarget(cam.backend());
            CarPipeline p = new CarPipeline(text, cam, ci, ct, new CarLoop(gen, classifier, settings, DenseCrf.Params.CAR, crf, crfImage),
                    settings, camText, clsText);
            // The variant each engine runs, by the rule Engines.open applied on the backend it ended
            // on (TensorRT: the first of the precision preference, fp16 by default; CPU: fp32).
            java.util.Map<String, String> prec = new java.util.LinkedHashMap<>();
            String[] roles = {"text", "car_cam", "car_classifier_image", "car_classifier_text"};
            Engine[] engines = {text, cam, ci, ct};
            for (int i = 0; i < roles.length; i++) {
                prec.put(roles[i], Engines.selectVariant(bundle.variantFiles(roles[i]), engines[i].backend(), options));
            }
            p.precisions = java.util.Collections.unmodifiableMap(prec);
            return p;
        } catch (RuntimeException e) {
            for (Engine x : new Engine[] {text, cam, ci, ct}) if (x != null) x.close();
            throw e;
        }
    }

    /**
     * The bundle's {@code defaults.car_crf_image}: "official" (the default: the official code's
     * wrapped uint8 image, for parity with real checkpoints) or "exact" (the image's own colours).
     *
     * @throws BundleException naming the key when the value is anything else
     */
    static CrfImage crfImage(ModelBundle bundle) {
        Object v = bundle.manifest().defaults().get(CrfImage.MANIFEST_KEY);
        if (v == null) return CrfImage.OFFICIAL;
        try {
            return CrfImage.parse(v instanceof String str ? str : null);
        } catch (IllegalArgumentException e) {
            throw new BundleException(bundle.dir().resolve("bundle.json"), "defaults." + CrfImage.MANIFEST_KEY,
                    "must be \"official\" or \"exact\", is " + (v instanceof String ? "\"" + v + "\"" : v));
        }
    }

    /** System property choosing where CaR's CRF runs: "cpu" (default) or "cuda". */
    public static final String CRF_PROPERTY = "ovseg.car.crf";

    /**
     * The CUDA CRF is opt-in ({@code -Dovseg.car.crf=cuda}, only with the networks on TensorRT)
     * until it has run on GPU hardware: so far it is checked against the CPU twin in a host
     * emulation only (kernels/README.md).
     */
    static DenseCrf.Target crfTarget(org.ovseg.engine.Backend networks) {
        String want = System.getProperty(CRF_PROPERTY, "cpu").trim().toLowerCase(java.util.Locale.ROOT);
        return switch (want) {
            case "cpu" -> DenseCrf.Target.CPU;
            case "cuda" -> {
                if (networks != org.ovseg.engine.Backend.TENSORRT) {
                    throw new org.ovseg.OvsegException("-D" + CRF_PROPERTY + "=cuda needs the networks on TensorRT (--backend tensorrt)");
                }
                yield DenseCrf.Target.CUDA;
            }
            default -> throw new org.ovseg.OvsegException("-D" + CRF_PROPERTY + " must be cpu or cuda, is '" + want + "'");
        };
    }

    private static float[] floats(List<Double> l) {
        return new float[] {l.get(0).floatValue(), l.get(1).floatValue(), l.get(2).floatValue()};
    }

    /**
     * Checks that every text fits both text encoders under the prompts CaR applies to it
     * ("a clean origami {}." for Grad-CAM, the 15 classifier templates).
     *
     * @throws org.ovseg.OvsegException naming the first text that does not fit
     */
    public void validate(List<String> texts) {
        camText.checkFits(texts, ORIGAMI);
        classifierTexts.checkFits(texts, new PromptTemplates("car-classifier", ClipPromptClassifier.TEMPLATES));
    }

    /** @return network role → precision variant it runs ("fp32", "fp16", ...) */
    public java.util.Map<String, String> precisions() {
        return precisions;
    }

    /** @return network role → backend that runs it ("onnxruntime-cpu" or "tensorrt") */
    public java.util.Map<String, String> backends() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("text", org.ovseg.pipeline.SegmentationPipeline.backendLabel(text));
        m.put("car_cam", org.ovseg.pipeline.SegmentationPipeline.backendLabel(cam));
        m.put("car_classifier_image", org.ovseg.pipeline.SegmentationPipeline.backendLabel(classifierImage));
        m.put("car_classifier_text", org.ovseg.pipeline.SegmentationPipeline.backendLabel(classifierText));
        return m;
    }

    /** @return the settings this pipeline runs with */
    public CarSettings settings() {
        return settings;
    }

    /**
     * Turns on CaR's optional SAM merge ({@link SamRefiner}, official thresholds) for every later
     * call, or off with null. The pipeline does not own {@code sam}: the caller closes it.
     */
    public void useSam(org.ovseg.pipeline.sam.SamAutomaticMasks sam) {
        loop.setMaskRefiner(sam == null ? null : new SamRefiner(sam));
    }

    /** As {@link #useSam(org.ovseg.pipeline.sam.SamAutomaticMasks)}, with a preset's merge thresholds. */
    public void useSam(org.ovseg.pipeline.sam.SamAutomaticMasks sam, CarSettings.SamThresholds t) {
        loop.setMaskRefiner(sam == null ? null : new SamRefiner(sam, t.iom(), t.minPred(), SamRefiner.REPLACE_IOU));
    }

    /** Runs the recurrence on one image. */
    public CarLoop.Result segment(RgbImage image, List<String> labels) {
        return loop.segment(image, labels);
    }

    /** The two-pass (things, then stuff) labelling of the context/ade presets. */
    public CarLoop.Result segmentWithStuff(RgbImage image, List<String> things, List<String> stuff, String preset) {
        return loop.segmentWithStuff(image, things, stuff, CarSettings.stuffPrompts(preset));
    }

    /** Referring segmentation: one object described by one or more sentences. */
    public boolean[] refer(RgbImage image, List<String> sentences) {
        return loop.refer(image, sentences);
    }

    /** Referring segmentation with the joint recurrence's steps and per-sentence scores. */
    public CarLoop.Referral referral(RgbImage image, List<String> sentences) {
        return loop.referral(image, sentences);
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (Engine x : new Engine[] {text, cam, classifierImage, classifierText}) {
            try {
                x.close();
            } catch (RuntimeException e) { // keep closing the others
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
