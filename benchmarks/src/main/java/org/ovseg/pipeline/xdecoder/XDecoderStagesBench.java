package org.ovseg.pipeline.xdecoder;

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
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.engine.Backend;
import org.ovseg.engine.EngineOptions;
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.RgbImage;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.TextEmbedder;
import org.ovseg.text.TextEmbeddingCache;

/**
 * X-Decoder on the CPU, stage by stage, on tools/data/voc-samples/0_image.png (513², short side
 * 512 → 512² input) with the 20 VOC class names:
 * <ol>
 *   <li>{@link #backbone}: preprocessing + FocalNet + pixel decoder graph;
 *   <li>{@link #text}: class embeddings from cold (20 labels × 81 templates + the background text);
 *   <li>{@link #decoder}: the decoder graph (resampling matrices included);
 *   <li>{@link #grounding}: two sentences' tokens + the grounding decoder graph + the query choice;
 *   <li>{@link #postprocess}: semantic + panoptic inference at 513² (upsampling of every query).
 * </ol>
 * Lives in the pipeline's package to reach its package-private stages. The model is the bundle in
 * -Dovseg.bench.xdecoderBundle=DIR, else builtin:colour-world-xdecoder (tiny hand-set networks: the
 * network stages then say little). Run from the repository root.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx8g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
public class XDecoderStagesBench {
    static final List<String> VOC = List.of("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
            "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor");

    XDecoderModel model;
    RgbImage image;
    XDecoderModel.Input input;
    Map<String, HostTensor> features, mats;
    float[] classEmb, logits, masks, ay, ax;
    int queries, h4, w4;
    Path tmp;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        tmp = Files.createTempDirectory("ovseg-xdecoder-bench");
        String dir = System.getProperty("ovseg.bench.xdecoderBundle");
        ModelBundle bundle = BundleLoader.load(dir == null ? BuiltinBundles.resolve("builtin:colour-world-xdecoder", tmp) : Path.of(dir));
        model = XDecoderModel.open(bundle, EngineOptions.builder().backend(Backend.CPU).build(), new TextEmbeddingCache(null));
        image = new ImageDecoder().decode(Path.of("tools/data/voc-samples/0_image.png"));
        input = model.preprocess(image, 512);
        features = model.features(input);
        mats = XDecoderModel.resampling(features);
        classEmb = model.classEmbeddings(VOC);
        Map<String, HostTensor> dec = model.decode(features, mats, classEmb, VOC.size() + 1);
        logits = dec.get("pred_logits").toFloatArray();
        masks = dec.get("pred_masks").toFloatArray();
        queries = (int) dec.get("pred_logits").dim(0);
        dec.values().forEach(HostTensor::close);
        HostTensor mf = features.get("mask_features");
        h4 = (int) mf.dim(2);
        w4 = (int) mf.dim(3);
        ay = Resize.toOriginal(h4, input.paddedH(), input.validH(), image.height());
        ax = Resize.toOriginal(w4, input.paddedW(), input.validW(), image.width());
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        features.values().forEach(HostTensor::close);
        mats.values().forEach(HostTensor::close);
        model.close();
        try (var s = Files.walk(tmp)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    @Benchmark
    public float backbone() {
        XDecoderModel.Input in = model.preprocess(image, 512);
        Map<String, HostTensor> f = model.features(in);
        float v = f.get("level0").floatBuffer().get(0);
        f.values().forEach(HostTensor::close);
        return v;
    }

    @Benchmark
    public float text() {
        TextEmbedder cold = new TextEmbedder(model.text, "input_ids", "class_emb", 77, model.dim, "bench", new TextEmbeddingCache(null));
        return cold.embed(VOC, model.templates)[0][0];
    }

    @Benchmark
    public float decoder() {
        Map<String, HostTensor> m = XDecoderModel.resampling(features);
        Map<String, HostTensor> d = model.decode(features, m, classEmb, VOC.size() + 1);
        float v = d.get("pred_logits").floatBuffer().get(0);
        d.values().forEach(HostTensor::close);
        m.values().forEach(HostTensor::close);
        return v;
    }

    @Benchmark
    public int grounding() {
        XDecoderModel.Sentences s = model.sentences(List.of("the cat on the sofa", "a dog"), 77);
        Map<String, HostTensor> g = model.ground(features, mats, s);
        float[] emb = g.get("grounding_emb").toFloatArray();
        int q = (int) g.get("grounding_emb").dim(0);
        g.values().forEach(HostTensor::close);
        return Postprocess.chooseQueries(emb, q, s.classEmb(), s.count(), model.dim)[0];
    }

    @Benchmark
    public int postprocess() {
        Postprocess.Result r = Postprocess.run(logits, masks, queries, VOC.size(), h4, w4, ay, image.height(), ax, image.width(),
                VOC.size(), model.objectThreshold, model.overlapThreshold, false);
        return r.labels()[0];
    }
}
