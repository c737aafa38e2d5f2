package org.ovseg.bench;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.pipeline.common.Bicubic;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.PromptTemplates;
import org.ovseg.text.TextEmbedder;
import org.ovseg.text.TextEmbeddingCache;

/**
 * The whole MaskCLIP path on the CPU at 512² with the 20 VOC class names, and each stage on
 * its own: the raw image encoder (the floor the pipeline is measured against), preprocessing,
 * dense head, upsampling + argmax, and the text encoder cold (80 templates × 20 labels, no cache)
 * and warm (cache hit). The model is the bundle in -Dovseg.bench.bundle (e.g. a random-weight
 * ViT-B/16 exported by tools/export), else builtin:colour-world (a tiny encoder, so its ratios
 * say little). Run from the repository root (it reads tools/data/voc-samples/0_image.png).
 * When the bundle has an int8 image variant (tools/export/export_clip.py --int8), the *Int8
 * benchmarks run the pipeline with {@code precision("int8")} and that graph raw; without one they fail.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx6g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 3)
public class MaskClipPipelineBench {
    static final List<String> VOC = List.of("airplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
            "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv monitor");

    Segmenter segmenter, segmenterInt8;
    Labels labels = Labels.of(VOC);
    RgbImage image;
    Engine imageEngine, imageEngineInt8, textEngine;
    ModelBundle bundle;
    HostTensor pixels, pos;
    FloatBuffer features, headW, text, logits;
    int P, D, E, grid, K = VOC.size();
    float[] chw;
    Path cache;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        // -Dovseg.bench.cache=DIR keeps the text embeddings across forks (each fork otherwise
        // encodes 1,600 prompts before its first iteration).
        String keep = System.getProperty("ovseg.bench.cache");
        cache = keep != null ? Files.createDirectories(Path.of(keep)) : Files.createTempDirectory("ovseg-bench-cache");
        String model = System.getProperty("ovseg.bench.bundle");
        Path dir = model == null ? BuiltinBundles.resolve("builtin:colour-world", cache) : Path.of(model);
        bundle = BundleLoader.load(dir);
        segmenter = Segmenter.builder().model(dir.toString()).backend(Backend.CPU).cacheDir(cache).build();
        RgbImage src = new ImageDecoder().decode(Path.of("tools/data/voc-samples/0_image.png"));
        byte[] rgb = new byte[512 * 512 * 3];
        // The 513² sample cropped to exactly 512², so no rescaling happens and P = 32².
        for (int y = 0; y < 512; y++) System.arraycopy(src.rgb(), y * src.width() * 3, rgb, y * 512 * 3, 512 * 3);
        image = new RgbImage(512, 512, rgb);
        segmenter.segment(image, labels); // fills the text cache

        EngineOptions eo = EngineOptions.builder().backend(Backend.CPU).build();
        imageEngine = Engines.open(bundle.variantFiles("image"), eo);
        textEngine = Engines.open(bundle.variantFiles("text"), eo);
        if (bundle.variantFiles("image").containsKey("int8")) {
            segmenterInt8 = Segmenter.builder().model(dir.toString()).backend(Backend.CPU).cacheDir(cache).precision("int8").build();
            imageEngineInt8 = Engines.open(bundle.variantFiles("image"), eo.toBuilder().precisionPreference("int8", "fp32").build());
        }
        var pre = bundle.manifest().preprocessing();
        D = pre.width();
        E = bundle.manifest().embedDim();
        grid = 512 / pre.patchSize();
        P = grid * grid;
        float[] mean = {pre.mean().get(0).floatValue(), pre.mean().get(1).floatValue(), pre.mean().get(2).floatValue()};
        float[] std = {pre.std().get(0).floatValue(), pre.std().get(1).floatValue(), pre.std().get(2).floatValue()};
        chw = Resampling.resizeNormalize(rgb, 512, 512, 512, 512, mean, std);
        pixels = HostTensor.of(chw, 1, 3, 512, 512);
        pos = HostTensor.of(Bicubic.vitPositionalEmbedding(bundle.array("pos_embed").data(), pre.positionGrid(), D, grid, grid), 1, 1 + P, D);
        try (var out = imageEngine.run(Map.of("pixel_values", pixels, "pos_embed", pos)).get("dense_features")) {
            features = Data.direct(out.toFloatArray());
        }
        headW = Data.direct(bundle.array("head_weight").data());
        float[] t = Data.uniform(3, K * E, 1);
        Data.unitRows(t, K, E);
        text = Data.direct(t);
        logits = Data.floats(K * P);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        segmenter.close();
        imageEngine.close();
        if (segmenterInt8 != null) {
            segmenterInt8.close();
            imageEngineInt8.close();
        }
        textEngine.close();
        pixels.close();
        pos.close();
    }

    @Benchmark
    public SegmentationResult wholePipelineWarmText() {
        return segmenter.segment(image, labels);
    }

    @Benchmark
    public Object rawImageEncoder() {
        Map<String, HostTensor> out = imageEngine.run(Map.of("pixel_values", pixels, "pos_embed", pos));
        out.values().forEach(HostTensor::close);
        return out;
    }

    @Benchmark
    public SegmentationResult wholePipelineInt8WarmText() {
        if (segmenterInt8 == null) throw new IllegalStateException("the bundle has no int8 image variant");
        return segmenterInt8.segment(image, labels);
    }

    @Benchmark
    public Object rawImageEncoderInt8() {
        if (imageEngineInt8 == null) throw new IllegalStateException("the bundle has no int8 image variant");
        Map<String, HostTensor> out = imageEngineInt8.run(Map.of("pixel_values", pixels, "pos_embed", pos));
        out.values().forEach(HostTensor::close);
        return out;
    }

    @Benchmark
    public float[] preprocess() {
        return Resampling.resizeNormalize(image.rgb(), 512, 512, 512, 512, new float[] {0.48f, 0.46f, 0.41f}, new float[] {0.27f, 0.26f, 0.28f});
    }

    @Benchmark
    public FloatBuffer denseHead() {
        CpuKernels.denseProjection(features, 1, P, D, headW, null, E, text, K, 1f, logits, null, null);
        return logits;
    }

    @Benchmark
    public int[] upsampleArgmax() {
        float[] l = new float[K * P];
        logits.get(0, l);
        int[] labelsOut = new int[512 * 512];
        Resampling.upsampleTwiceArgmax(l, K, grid, grid, 512, 512, 512, 512, labelsOut, new float[512 * 512], null);
        return labelsOut;
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    public float[][] textCold() {
        TextEmbedder t = new TextEmbedder(textEngine, "input_ids", "text_embeds", 77, E, "bench", new TextEmbeddingCache(null));
        return t.embed(VOC, PromptTemplates.named("imagenet80"));
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public float[][] textWarmDiskCache() {
        TextEmbedder t = new TextEmbedder(textEngine, "input_ids", "text_embeds", 77, E, bundle.manifestSha256(),
                new TextEmbeddingCache(cache.resolve("text-embeddings")));
        return t.embed(VOC, PromptTemplates.named("imagenet80"));
    }
}
