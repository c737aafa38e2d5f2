package org.ovseg.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.engine.Backend;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.DenseCrf;
import org.ovseg.kernel.VisualPrompt;
import org.ovseg.pipeline.car.CarLoop;
import org.ovseg.pipeline.car.CarPipeline;
import org.ovseg.pipeline.car.CarSettings;
import org.ovseg.pipeline.car.ClipPromptClassifier;
import org.ovseg.pipeline.car.GradCamProposals;
import org.ovseg.text.PromptTemplates;
import org.ovseg.text.TextEmbedder;
import org.ovseg.text.TextEmbeddingCache;

/**
 * CLIP-as-RNN on the CPU, one recurrence step stage by stage, on
 * tools/data/voc-samples/0_image.png (513², kept at its size: Grad-CAM grid 33² for ViT-B/16)
 * with Q queries (the first Q of the 20 VOC class names):
 * <ol>
 *   <li>{@link #proposals}: {@link GradCamProposals#propose} for the Q queries against the 23
 *       official background texts ("a clean origami {}."), CLIP-ES included;
 *   <li>{@link #visualPrompts}: {@link VisualPrompt#apply} on the Q proposal maps with the
 *       preset's effects and mask threshold (voc: circle + blur; coco-object: blur + gray);
 *   <li>{@link #classifier}: {@link ClipPromptClassifier#score} of the Q voc-prompted images
 *       against the Q queries (15 templates; preprocessing to 224² included);
 *   <li>{@link #crf}: the dense CRF over Q + 1 labels at 513² with CaR's parameters
 *       ({@link DenseCrf.Params#CAR}: 10 iterations), unaries built from the Q maps as
 *       {@link CarLoop} builds them (background (1 − max CAM)^factor);
 *   <li>{@link #wholeLoop}: {@link CarPipeline#segment} (= {@link CarLoop#segment}): the
 *       recurrence to its fixed point, then the CRF over the surviving queries — how many steps
 *       and queries that is depends on the model and preset (printed at setup).
 * </ol>
 * All text embeddings are warm (an in-memory {@link TextEmbeddingCache} filled at setup), so the
 * stages measure image work only. The model is the car bundle in -Dovseg.bench.carBundle=DIR,
 * else builtin:colour-world-car (the hand-set demo: tiny networks, so the network stages say
 * little). Run from the repository root.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx8g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
public class CarStagesBench {
    static final List<String> VOC = MaskClipPipelineBench.VOC;
    static final PromptTemplates AS_IS = new PromptTemplates("as-is", List.of("{}"));

    /** Number of queries in the step. */
    @Param({"5", "20"})
    public int queries;

    ModelBundle bundle;
    EngineOptions options;
    TextEmbeddingCache cache;
    Engine text, cam, classifierImage, classifierText;
    TextEmbedder camText, classifierTextEmbedder;
    GradCamProposals proposals;
    ClipPromptClassifier classifier;
    CarSettings voc = CarSettings.preset("voc");
    RgbImage image;
    List<String> names;
    List<String> background;
    float[][] maps;
    List<RgbImage> prompted;
    byte[] crfRgb;
    Path tmp;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) throws Exception {
        tmp = Files.createTempDirectory("ovseg-car-bench");
        String model = System.getProperty("ovseg.bench.carBundle");
        Path dir = model == null ? BuiltinBundles.resolve("builtin:colour-world-car", tmp) : Path.of(model);
        bundle = BundleLoader.load(dir);
        options = EngineOptions.builder().backend(Backend.CPU).build();
        cache = new TextEmbeddingCache(null); // memory only: warm after the first use
        image = new ImageDecoder().decode(Path.of("tools/data/voc-samples/0_image.png"));
        names = VOC.subList(0, queries);
        background = CarSettings.BACKGROUND.stream().map(b -> "a clean origami " + b + ".").toList();
        String bench = params.getBenchmark();
        if (bench.endsWith("wholeLoop")) return; // PresetState opens its own CarPipeline

        // The networks and stages exactly as CarPipeline.open wires them (same cache keys).
        BundleManifest m = bundle.manifest();
        BundleManifest.Preprocessing pre = m.preprocessing();
        float[] mean = floats(pre.mean()), std = floats(pre.std());
        text = Engines.open(bundle.variantFiles("text"), options);
        cam = Engines.open(bundle.variantFiles("car_cam"), options);
        classifierImage = Engines.open(bundle.variantFiles("car_classifier_image"), options);
        classifierText = Engines.open(bundle.variantFiles("car_classifier_text"), options);
        int classifierDim = (int) bundle.network("car_classifier_text").outputs().get(0).shape()[1];
        camText = new TextEmbedder(text, "input_ids", "text_embeds", m.text().contextLength(), m.embedDim(),
                bundle.manifestSha256() + ":text", cache);
        classifierTextEmbedder = new TextEmbedder(classifierText, "input_ids", "text_embeds", m.text().contextLength(), classifierDim,
                bundle.manifestSha256() + ":classifier", cache);
        proposals = new GradCamProposals(cam, texts -> camText.embed(texts, AS_IS), bundle.array("pos_embed").data(),
                pre.positionGrid(), pre.patchSize(), pre.width(), mean, std, voc.clipEsThreshold());
        classifier = new ClipPromptClassifier(classifierImage, classifierTextEmbedder, mean, std, (float) m.logitScale());

        camText.embed(names, AS_IS); // warm text
        camText.embed(background, AS_IS);
        if (bench.endsWith("proposals")) return;
        maps = proposals.propose(image, names, background);
        prompted = new ArrayList<>();
        for (float[] c : maps) {
            prompted.add(new RgbImage(image.width(), image.height(),
                    VisualPrompt.apply(image.rgb(), c, image.height(), image.width(), voc.maskThreshold(), voc.prompts())));
        }
        if (bench.endsWith("classifier")) classifier.score(prompted, names); // warms the 15 templates' text
        crfRgb = CarLoop.crfImage(image);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        for (Engine e : new Engine[] {text, cam, classifierImage, classifierText}) if (e != null) e.close();
        try (var s = Files.walk(tmp)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static float[] floats(List<Double> l) {
        return new float[] {l.get(0).floatValue(), l.get(1).floatValue(), l.get(2).floatValue()};
    }

    /** The visual-prompt preset and, for the whole loop, its own CarPipeline. */
    @State(Scope.Benchmark)
    public static class PresetState {
        /** CaR preset: voc (circle + blur) or coco-object (blur + gray). */
        @Param({"voc", "coco-object"})
        public String preset;

        CarSettings settings;
        CarPipeline pipeline;

        @Setup(Level.Trial)
        public void setup(CarStagesBench b, BenchmarkParams params) {
            settings = CarSettings.preset(preset);
            if (!params.getBenchmark().endsWith("wholeLoop")) return;
            pipeline = CarPipeline.open(b.bundle, b.options, b.cache, settings);
            CarLoop.Result r = pipeline.segment(b.image, b.names); // warms every text the loop asks for
            StringBuilder sb = new StringBuilder("wholeLoop Q=" + b.queries + " preset=" + preset + ": " + r.steps().size() + " steps, queries per step");
            for (CarLoop.Step s : r.steps()) sb.append(' ').append(s.queries().size()).append("->").append(s.kept().size());
            sb.append(", stage timer (ms) ").append(r.timingsMs());
            System.err.println(sb);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (pipeline != null) pipeline.close();
        }
    }

    /**
     * Stage 1: Grad-CAM + CLIP-ES proposals for Q queries against the 23 background texts. Three
     * warm-up calls: on a ViT-B/16 the first two calls with Q = 20 take ~16 s instead of ~6 s
     * (ONNX Runtime's arena growing into fresh memory for the per-query backward pass).
     */
    @Benchmark
    @Warmup(iterations = 3, time = 2)
    public float[][] proposals() {
        return proposals.propose(image, names, background);
    }

    /**
     * Stage 2: one visual-prompted copy of the image per proposal map. Longer warm-up: each call
     * allocates three direct buffers (~2.6 MB at 513²), whose memory is only recycled once a GC
     * has run; until the young generation has settled into regular collections every call gets
     * fresh, never-touched pages and runs ~9× slower (seen as 180 ms instead of 19 ms for Q = 20).
     */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    @Warmup(iterations = 5, time = 2)
    public List<RgbImage> visualPrompts(PresetState p) {
        List<RgbImage> out = new ArrayList<>(maps.length);
        int H = image.height(), W = image.width();
        for (float[] c : maps) out.add(new RgbImage(W, H, VisualPrompt.apply(image.rgb(), c, H, W, p.settings.maskThreshold(), p.settings.prompts())));
        return out;
    }

    /** Stage 3: the classifier on the Q prompted images (voc prompts) against the Q queries. */
    @Benchmark
    public float[][] classifier() {
        return classifier.score(prompted, names);
    }

    /** Stage 4: unaries from the Q maps + the dense CRF over Q + 1 labels at 513² (CaR's parameters). */
    @Benchmark
    public int[] crf() {
        int H = image.height(), W = image.width(), N = H * W, L = maps.length + 1;
        float[] unary = new float[L * N];
        for (int p = 0; p < N; p++) {
            float mx = 0f;
            for (float[] m : maps) mx = Math.max(mx, m[p]);
            unary[p] = CarLoop.energy((float) Math.pow(1f - mx, voc.backgroundFactor()));
            for (int l = 1; l < L; l++) unary[l * N + p] = CarLoop.energy(maps[l - 1][p]);
        }
        return DenseCrf.labels(unary, crfRgb, L, H, W, DenseCrf.Params.CAR);
    }

    /** The whole recurrence to its fixed point plus the CRF, text warm (setup runs it once more). */
    @Benchmark
    @Warmup(iterations = 2, time = 2)
    public CarLoop.Result wholeLoop(PresetState p) {
        return p.pipeline.segment(image, names);
    }
}
