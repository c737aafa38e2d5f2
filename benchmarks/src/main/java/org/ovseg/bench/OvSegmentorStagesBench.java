package org.ovseg.bench;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.engine.Backend;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.engine.onnx.OnnxWriter.Attribute;
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.pipeline.common.Bicubic;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.WordPieceTokenizer;

/**
 * OVSegmentor on the CPU, stage by stage, one 448² window (the official crop: P = 784 patches):
 * <ol>
 *   <li>{@link #stage1}: the stage-1 graph (patch embedding, 6 blocks with 64 group tokens, the
 *       grouping block up to the assignment);
 *   <li>{@link #bindingKernelHard} / {@link #bindingKernelSoft}: the slot attention kernel as the
 *       pipeline calls it (G = 8 groups, d = dv = C; hard for the binding, soft for the pixel map),
 *       against {@link #bindingOrtHard}: the same hard binding as an ONNX Runtime graph (MatMul,
 *       ArgMax, Equal, ReduceSum, Div) on the same inputs;
 *   <li>{@link #stage2}: the stage-2 graph (rest of the grouping block, 6 blocks, projection);
 *   <li>{@link #text21Prompts}: the text graph on the 20 VOC classes plus "background" in "a photo
 *       of a {}." (WordPiece ids from the bundle's vocab.txt, one padded batch, no cache);
 *   <li>{@link #wholeImage}: {@code Segmenter.segment} of tools/data/voc-samples/0_image.png (513²
 *       → 448²: one window) into the 20 VOC classes, text embeddings warm.
 * </ol>
 * The bundle is -Dovseg.bench.ovsegmentorBundle=DIR (e.g. export_ovsegmentor.py --make-random full),
 * else builtin:colour-world-ovseg (tiny hand-set graphs: the network stages then say little). Run from
 * the repository root.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx8g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
public class OvSegmentorStagesBench {
    static final int CROP = 448;

    ModelBundle bundle;
    Engine stage1, stage2, text, ortHard;
    Map<String, HostTensor> stage1In = new HashMap<>(), stage2In = new HashMap<>();
    Map<String, HostTensor> stage1Out;
    HostTensor ids, mask, bound, assign, scratch, hardQ, hardK, hardV, hardOut;
    int G, P, C;
    Segmenter segmenter;
    RgbImage image;
    Path tmp;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        tmp = Files.createTempDirectory("ovseg-ovsegmentor-bench");
        String model = System.getProperty("ovseg.bench.ovsegmentorBundle");
        Path dir = model == null ? BuiltinBundles.resolve("builtin:colour-world-ovseg", tmp) : Path.of(model);
        bundle = BundleLoader.load(dir);
        EngineOptions options = EngineOptions.builder().backend(Backend.CPU).build();
        stage1 = Engines.open(bundle.variantFiles("stage1"), options);
        stage2 = Engines.open(bundle.variantFiles("stage2"), options);
        text = Engines.open(bundle.variantFiles("text"), options);
        var pre = bundle.manifest().preprocessing();
        C = pre.width();
        int grid = pre.positionGrid(), g = CROP / pre.patchSize();
        P = g * g;
        stage1In.put("pixel_values", HostTensor.of(Data.uniform(1, 3 * CROP * CROP, 2), 1, 3, CROP, CROP));
        stage1In.put("pos_embed", HostTensor.of(Bicubic.resizeChannelsLast(bundle.array("pos_embed").data(), grid, grid, C, g, g), 1, P, C));
        stage1Out = stage1.run(stage1In);
        G = (int) stage1Out.get("assign_q").dim(1);
        bound = HostTensor.zeros(ElementType.FLOAT32, 1, G, C);
        scratch = HostTensor.zeros(ElementType.FLOAT32, 1, G, C);
        assign = HostTensor.zeros(ElementType.FLOAT32, 1, P, G);
        bindingKernelHard();
        stage2In.put("bound", bound);
        stage2In.put("group_tokens", stage1Out.get("group_tokens"));

        ortHard = Engines.open(writeHardGraph(tmp.resolve("hard.onnx"), G, P, C), options);
        hardQ = HostTensor.of(stage1Out.get("assign_q").toFloatArray(), G, C);
        hardK = HostTensor.of(stage1Out.get("assign_k").toFloatArray(), P, C);
        hardV = HostTensor.of(stage1Out.get("assign_v").toFloatArray(), P, C);
        hardOut = HostTensor.zeros(ElementType.FLOAT32, G, C);

        WordPieceTokenizer tok = WordPieceTokenizer.fromVocab(dir.resolve("vocab.txt"), true);
        List<String> prompts = new ArrayList<>();
        for (String c : MaskClipPipelineBench.VOC) prompts.add("a photo of a " + c + ".");
        prompts.add("a photo of a background.");
        int[][] rows = new int[prompts.size()][];
        int len = 0;
        for (int i = 0; i < rows.length; i++) len = Math.max(len, (rows[i] = tok.tokenize(prompts.get(i), 512)).length);
        long[] idv = new long[rows.length * len], mv = new long[rows.length * len];
        java.util.Arrays.fill(idv, tok.padId());
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < rows[i].length; j++) {
                idv[i * len + j] = rows[i][j];
                mv[i * len + j] = 1;
            }
        }
        ids = HostTensor.of(idv, rows.length, len);
        mask = HostTensor.of(mv, rows.length, len);

        image = new ImageDecoder().decode(Path.of("tools/data/voc-samples/0_image.png"));
        segmenter = Segmenter.builder().model(dir.toString()).backend(Backend.CPU).cacheDir(tmp).build();
        SegmentationResult warm = segmenter.segment(image, Labels.of(MaskClipPipelineBench.VOC));
        System.out.println("ovsegmentor bench: C=" + C + " G=" + G + " P=" + P + ", timings of one image " + warm.timingsMs());
    }

    /** updates = (aᵀ v) / (Σ_n a + 1) with a = one-hot argmax over groups of k qᵀ (the scale does not move an argmax). */
    private static Path writeHardGraph(Path file, int G, int P, int C) throws java.io.IOException {
        GraphBuilder g = GraphBuilder.create("hard_binding");
        String q = g.input("q", ElementType.FLOAT32, G, C);
        String k = g.input("k", ElementType.FLOAT32, P, C);
        String v = g.input("v", ElementType.FLOAT32, P, C);
        String best = g.argMax(g.matMul(k, g.transpose(q, 1, 0)), 1, true); // [P, 1]
        long[] range = new long[G];
        for (int i = 0; i < G; i++) range[i] = i;
        String a = g.cast(g.equal(best, g.initializer("groups", range, 1, G)), ElementType.FLOAT32); // [P, G]
        String count = g.node("ReduceSum", List.of(a, g.longs(0)), 1, Attribute.of("keepdims", 1L)).get(0); // [1, G]
        String denom = g.add(g.transpose(count, 1, 0), g.scalar(1f));
        g.rename(g.div(g.matMul(g.transpose(a, 1, 0), v), denom), "updates");
        g.output("updates", ElementType.FLOAT32, G, C);
        return g.write(file);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        segmenter.close();
        for (Engine e : new Engine[] {stage1, stage2, text, ortHard}) e.close();
        stage1In.values().forEach(HostTensor::close);
        stage1Out.values().forEach(HostTensor::close);
        for (HostTensor t : new HostTensor[] {ids, mask, bound, assign, scratch, hardQ, hardK, hardV, hardOut}) t.close();
    }

    @Benchmark
    public Map<String, HostTensor> stage1() {
        Map<String, HostTensor> out = stage1.run(stage1In);
        out.values().forEach(HostTensor::close);
        return out;
    }

    @Benchmark
    public FloatBuffer bindingKernelHard() {
        CpuKernels.slotAttention(stage1Out.get("assign_q").floatBuffer(), stage1Out.get("assign_k").floatBuffer(),
                stage1Out.get("assign_v").floatBuffer(), 1, G, P, C, C, 0f, 1f, true, bound.floatBuffer(), assign.floatBuffer());
        return bound.floatBuffer();
    }

    @Benchmark
    public FloatBuffer bindingKernelSoft() {
        CpuKernels.slotAttention(stage1Out.get("assign_q").floatBuffer(), stage1Out.get("assign_k").floatBuffer(),
                stage1Out.get("assign_v").floatBuffer(), 1, G, P, C, C, 0f, 1f, false, scratch.floatBuffer(), assign.floatBuffer());
        return scratch.floatBuffer();
    }

    @Benchmark
    public HostTensor bindingOrtHard() {
        ortHard.run(Map.of("q", hardQ, "k", hardK, "v", hardV), Map.of("updates", hardOut));
        return hardOut;
    }

    @Benchmark
    public Map<String, HostTensor> stage2() {
        Map<String, HostTensor> out = stage2.run(stage2In);
        out.values().forEach(HostTensor::close);
        return out;
    }

    @Benchmark
    public Map<String, HostTensor> text21Prompts() {
        Map<String, HostTensor> out = text.run(Map.of("input_ids", ids, "attention_mask", mask));
        out.values().forEach(HostTensor::close);
        return out;
    }

    @Benchmark
    public SegmentationResult wholeImage() {
        return segmenter.segment(image, Labels.of(MaskClipPipelineBench.VOC));
    }
}
