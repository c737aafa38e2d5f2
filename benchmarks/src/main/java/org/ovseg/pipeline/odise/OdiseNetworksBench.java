package org.ovseg.pipeline.odise;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.engine.Backend;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.TensorSpec;
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.PilResample;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.pipeline.PipelineOutput;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.TextEmbeddingCache;

/**
 * ODISE's networks one at a time, each fed as {@link OdisePipeline} feeds it (its own stage
 * methods, not copies), on the CPU, with the bundle given at run time ({@code -p bundle=DIR}; the
 * default is the hand-set demo, whose figures say nothing). Sizes follow the bundle's manifest:
 * <ul>
 *   <li>{@link #backboneCrop}: the backbone on ONE crop at the bundle's backbone_size (official 512²),
 *       batch 1 (a 1024² image takes {@code SlideTiling.of(1024, 1024, size).tiles().size()} of these,
 *       printed at setup);
 *   <li>{@link #maskGenerator}: pixel decoder + masked-attention decoder on the features of a 1024 ×
 *       1024 padded image (strides from the graph's input axis names, channels from the manifest);
 *   <li>{@link #maskEmbed}: the PooledMaskEmbed projections on Q pooled features;
 *   <li>{@link #clipBranch}: the pipeline's CLIP branch (image and mask logits to 336², attention
 *       masks, the ViT with Q mask tokens);
 *   <li>{@link #textPrompts}: the text network on the prompts of the 133 COCO-panoptic categories, both
 *       heads' templates (266 prompts, cold cache);
 *   <li>{@link #classification}, {@link #panopticMerge}: the Java stages at Q × 133, 1024²;
 *   <li>{@link #segment}: one whole {@code Segmenter.segment} of a 1024² image with the 133 labels
 *       through the public API, text embeddings warm.
 * </ul>
 * Inputs the networks see are values of the right shapes (a real image where the pipeline reads
 * pixels, N(0, 1) features, disc-shaped mask logits); with random-weight bundles the cost of every
 * graph is independent of the values. Single-shot: a full-size backbone crop takes seconds (1 warmup,
 * 3 measured calls; the cheap stages mask embed, classification and the merge 5 + 5 for the JIT).
 * Each stage opens only its own engine, so stages can be run one per JVM on a small machine.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xmx6g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
public class OdiseNetworksBench {
    /** COCO-panoptic's 133 categories (80 things, then 53 stuff), detectron2's names without "-merged"/"-stuff"/"-other" suffixes. */
    static final List<String> COCO_PANOPTIC = List.of("person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
            "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant",
            "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
            "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife",
            "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
            "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
            "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
            "banner", "blanket", "bridge", "cardboard", "counter", "curtain", "door", "wood floor", "flower", "fruit", "gravel", "house", "light",
            "mirror", "net", "pillow", "platform", "playingfield", "railroad", "river", "road", "roof", "sand", "sea", "shelf", "snow", "stairs",
            "tent", "towel", "brick wall", "stone wall", "tile wall", "wood wall", "water", "window blind", "window", "tree", "fence", "ceiling",
            "sky", "cabinet", "table", "floor", "pavement", "mountain", "grass", "dirt", "paper", "food", "building", "rock", "wall", "rug");
    static final int THINGS = 80, SIDE = 1024;

    /** An ODISE bundle directory, or a builtin: name. */
    @Param({"builtin:colour-world-odise"})
    public String bundle;

    /** ONNX Runtime intra-op threads; 0: its default (all physical cores). */
    @Param({"0"})
    public int threads;

    ModelBundle model;
    OdisePipeline pipeline;
    Segmenter segmenter;
    Path tmp;
    RgbImage image;
    List<String> labels;
    int Q, P, E;
    HostTensor crop;
    Map<String, float[]> features;
    Map<String, long[]> featureShapes;
    float[] pooled, decoderOutput, maskLogits, maskEmbed, clipEmbed, probs;
    byte[] resized;
    boolean[] isThing;
    OdiseClassifier.Texts texts;
    List<String> prompts;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) throws Exception {
        tmp = Files.createTempDirectory("ovseg-odise-networks-bench");
        Path dir = bundle.startsWith("builtin:") ? BuiltinBundles.resolve(bundle, tmp) : Path.of(bundle);
        model = BundleLoader.load(dir);
        BundleManifest m = model.manifest();
        OdiseSettings settings = OdiseSettings.of(m, PipelineOptions.none());
        RgbImage photo = new ImageDecoder().decode(Path.of("tools/data/voc-samples/0_image.png"));
        image = new RgbImage(SIDE, SIDE, PilResample.resize(photo.rgb(), photo.width(), photo.height(), SIDE, SIDE, PilResample.Filter.BILINEAR));
        labels = COCO_PANOPTIC;
        Q = (int) spec(model.network(OdisePipeline.MASK_GENERATOR).outputs(), "mask_logits").shape()[1];
        if (Q <= 0) Q = 100;
        E = m.embedDim();
        P = model.array("text_proj_bias").data().length;
        String stage = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        EngineOptions options = EngineOptions.builder().backend(Backend.CPU).intraOpThreads(threads).build();
        System.out.printf("%nODISE bundle %s (%s): Q=%d, P=%d, E=%d, backbone crop %d², %d crops for a %d² image; stage %s; "
                + "%d JVM processors, ORT intra-op threads %s, CPU %s%n", dir, m.family(), Q, P, E, settings.backboneSize(),
                SlideTiling.of(SIDE, SIDE, settings.backboneSize()).tiles().size(), SIDE, stage, Runtime.getRuntime().availableProcessors(),
                threads > 0 ? threads : "default", cpuModel());
        SplittableRandom r = new SplittableRandom(1);
        int h4 = SIDE / 4;
        String role = switch (stage) {
            case "backboneCrop" -> OdisePipeline.BACKBONE;
            case "maskGenerator" -> OdisePipeline.MASK_GENERATOR;
            case "maskEmbed" -> OdisePipeline.MASK_EMBED;
            case "clipBranch" -> OdisePipeline.CLIP;
            case "textPrompts" -> OdisePipeline.TEXT;
            default -> null;
        };
        if (stage.equals("segment")) {
            segmenter = Segmenter.builder().model(dir.toString()).backend(Backend.CPU).threads(threads).size(SIDE).cacheDir(tmp).build();
            segmenter.segment(image, Labels.of(labels)); // fills the text cache: the stage times image work
            return;
        }
        pipeline = OdisePipeline.open(model, settings, options, new TextEmbeddingCache(null), role == null ? List.of() : List.of(role));
        switch (stage) {
            case "backboneCrop" -> {
                int s = settings.backboneSize();
                float[] px = new float[3 * s * s];
                for (int c = 0; c < 3; c++) {
                    for (int y = 0; y < s; y++) for (int x = 0; x < s; x++) px[(c * s + y) * s + x] = (image.rgb()[(y * SIDE + x) * 3 + c] & 0xff) / 255f;
                }
                crop = HostTensor.of(px, 1, 3, s, s);
            }
            case "maskGenerator" -> {
                features = new LinkedHashMap<>();
                featureShapes = new LinkedHashMap<>();
                List<TensorSpec> in = model.network(OdisePipeline.MASK_GENERATOR).inputs();
                for (int i = 0; i < in.size(); i++) {
                    TensorSpec t = in.get(i);
                    int stride = stride(t, 4 << i), C = fixed(t, 1), side = SIDE / stride;
                    features.put(t.name(), gaussian(r, C * side * side));
                    featureShapes.put(t.name(), new long[] {1, C, side, side});
                }
            }
            case "maskEmbed" -> {
                List<TensorSpec> in = model.network(OdisePipeline.MASK_EMBED).inputs();
                pooled = gaussian(r, Q * fixed(spec(in, "pooled_features"), 2));
                decoderOutput = gaussian(r, Q * fixed(spec(in, "decoder_output"), 2));
            }
            case "clipBranch" -> {
                resized = image.rgb();
                maskLogits = discs(r, Q, h4, h4);
            }
            case "textPrompts" -> {
                prompts = new ArrayList<>();
                for (String l : labels) prompts.add(settings.categoryPrompt().replace("{}", l));
                for (String l : labels) prompts.add(settings.clipPrompt().replace("{}", l));
            }
            case "classification", "panopticMerge" -> {
                int K = labels.size();
                int[] cls = new int[K];
                boolean[] seen = new boolean[K];
                for (int k = 0; k < K; k++) {
                    cls[k] = k;
                    seen[k] = settings.seenNames().contains(labels.get(k));
                }
                texts = new OdiseClassifier.Texts(K, cls, gaussian(r, K * P), gaussian(r, P), gaussian(r, K * E), seen);
                maskEmbed = gaussian(r, Q * P);
                clipEmbed = gaussian(r, Q * E);
                maskLogits = discs(r, Q, h4, h4);
                isThing = new boolean[K];
                for (int k = 0; k < THINGS; k++) isThing[k] = true;
            }
            default -> throw new IllegalStateException("no setup for stage " + stage);
        }
        System.out.println("engines: " + pipeline.backends());
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
        if (crop != null) crop.close();
        if (pipeline != null) pipeline.close();
        if (segmenter != null) segmenter.close();
        try (var files = Files.walk(tmp)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** The backbone (VAE encoder, implicit captioner, UNet, feature projections) on one crop. */
    @Benchmark
    public int backboneCrop() {
        Map<String, HostTensor> out = pipeline.engine(OdisePipeline.BACKBONE).run(Map.of("pixel_values", crop));
        try {
            return out.size();
        } finally {
            out.values().forEach(HostTensor::close);
        }
    }

    /** Pixel decoder and masked-attention decoder for a 1024² padded image. */
    @Benchmark
    public OdisePipeline.MaskGeneratorOutput maskGenerator() {
        return pipeline.maskGenerator(features, featureShapes, SIDE, SIDE);
    }

    @Benchmark
    @Warmup(iterations = 5)
    @Measurement(iterations = 5)
    public float[] maskEmbed() {
        int M = pooled.length / Q, D = decoderOutput.length / Q;
        return pipeline.runOne(OdisePipeline.MASK_EMBED, Map.of("pooled_features", HostTensor.of(pooled, 1, Q, M), "decoder_output",
                HostTensor.of(decoderOutput, 1, Q, D)), "mask_embed", Q * P);
    }

    /** Resizes, attention masks and the CLIP ViT with Q mask tokens, for a 1024² image. */
    @Benchmark
    public float[] clipBranch() {
        return pipeline.clipBranch(resized, SIDE, SIDE, maskLogits, Q, SIDE / 4, SIDE / 4);
    }

    /** Raw text embeddings of 266 prompts through a cold cache (batches of 64, as the pipeline sends them). */
    @Benchmark
    public float[] textPrompts() {
        BundleManifest m = model.manifest();
        return new OdiseText(pipeline.engine(OdisePipeline.TEXT), m.text().contextLength(), E, "bench", new TextEmbeddingCache(null)).embed(prompts);
    }

    @Benchmark
    @Warmup(iterations = 5)
    @Measurement(iterations = 5)
    public OdiseClassifier classification() {
        OdiseSettings s = pipeline.settings();
        return OdiseClassifier.classify(maskEmbed, clipEmbed, Q, texts, s.categoryLogitScale(), s.clipLogitScale(), s.alpha(), s.beta());
    }

    /** Classification's probabilities, then the panoptic merge and the instances at 1024², as the pipeline runs them. */
    @Benchmark
    @Warmup(iterations = 5)
    @Measurement(iterations = 5)
    public List<PipelineOutput.Instance> panopticMerge() {
        OdiseSettings s = pipeline.settings();
        OdiseClassifier cls = OdiseClassifier.classify(maskEmbed, clipEmbed, Q, texts, s.categoryLogitScale(), s.clipLogitScale(), s.alpha(), s.beta());
        int K = labels.size(), h4 = SIDE / 4;
        PanopticInference.run(cls.probabilities(), Q, K, new MaskRows(maskLogits, Q, h4, h4, SIDE, SIDE, SIDE, SIDE, SIDE, SIDE), SIDE, SIDE,
                isThing, s.objectMaskThreshold(), s.overlapThreshold(), s.keepLogits());
        return OdisePipeline.instances(cls.maskCls(), Q, K, isThing, new MaskRows(maskLogits, Q, h4, h4, SIDE, SIDE, SIDE, SIDE, SIDE, SIDE),
                SIDE, SIDE);
    }

    @Benchmark
    public SegmentationResult segment() {
        return segmenter.segment(image, Labels.of(labels));
    }

    private static TensorSpec spec(List<TensorSpec> specs, String name) {
        return specs.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("the bundle's graph has no tensor '" + name + "'"));
    }

    /** A dimension the manifest must give as a number (channels, widths). */
    private static int fixed(TensorSpec t, int axis) {
        long d = t.shape()[axis];
        if (d <= 0) throw new IllegalStateException("the bundle gives axis " + axis + " of '" + t.name() + "' no fixed size: " + t);
        return (int) d;
    }

    /** The exporter names the mask generator's input axes h4, h8, …: the stride. */
    private static int stride(TensorSpec t, int fallback) {
        if (t.axisNames() != null && t.axisNames().size() > 2 && t.axisNames().get(2) != null) {
            Matcher mt = Pattern.compile("h(\\d+)").matcher(t.axisNames().get(2));
            if (mt.matches()) return Integer.parseInt(mt.group(1));
        }
        return fallback;
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    /** Each query a disc of random centre and radius: logit +6 inside, −6 outside, a 4-pixel ramp. */
    static float[] discs(SplittableRandom r, int Q, int h, int w) {
        float[] a = new float[Q * h * w];
        for (int q = 0; q < Q; q++) {
            double cy = r.nextDouble() * h, cx = r.nextDouble() * w, rad = h / 25.0 + r.nextDouble() * h / 3.0;
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) a[(q * h + y) * w + x] = (float) (6 * Math.tanh((rad - Math.hypot(y - cy, x - cx)) / 4));
        }
        return a;
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown");
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
