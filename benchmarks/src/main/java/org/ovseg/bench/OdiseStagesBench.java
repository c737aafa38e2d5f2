package org.ovseg.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
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
import org.ovseg.api.Segmenter;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.kernel.MaskMode;
import org.ovseg.pipeline.odise.JavaLoopPanopticInference;
import org.ovseg.pipeline.odise.OdiseClassifier;
import org.ovseg.pipeline.odise.PanopticInference;
import org.ovseg.pipeline.odise.SlideTiling;

/**
 * ODISE's Java stages on the CPU at the official size: a 1024 × 1536 input (padded 1024 × 1536, mask
 * logits 256 × 384), Q = 100 queries, K = 133 COCO-panoptic categories with 3 synonyms each, mask
 * features M = 256, category embedding P = 256, CLIP ViT-L width E = 768, backbone features of 512
 * channels (6 crops of 512²). Random data: the networks themselves need real weights (not exportable
 * yet), so only the work between the graphs is timed here, plus the demo bundle end to end.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgs = {"-Xmx6g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
public class OdiseStagesBench {
    static final int Q = 100, K = 133, SYN = 3, M = 256, P = 256, E = 768, H = 1024, W = 1536, C = 512;
    float[] maskLogits, maskFeatures, probs, maskEmbed, clipEmbed, tileFeatures;
    boolean[] thing;
    OdiseClassifier.Texts texts;
    FloatBuffer fBuf, mBuf, outBuf;
    Segmenter demo;
    RgbImage scene;

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom r = new SplittableRandom(1);
        int h4 = H / 4, w4 = W / 4;
        maskLogits = new float[Q * h4 * w4];
        // Smooth blobs: each query a disc of random centre and radius, logit +6 inside, −6 outside.
        for (int q = 0; q < Q; q++) {
            double cy = r.nextDouble() * h4, cx = r.nextDouble() * w4, rad = 10 + r.nextDouble() * 80;
            for (int y = 0; y < h4; y++) for (int x = 0; x < w4; x++) {
                double d = Math.hypot(y - cy, x - cx);
                maskLogits[(q * h4 + y) * w4 + x] = (float) (6 * Math.tanh((rad - d) / 4));
            }
        }
        maskFeatures = rand(r, M * h4 * w4);
        maskEmbed = rand(r, Q * P);
        clipEmbed = rand(r, Q * E);
        int[] cls = new int[K * SYN];
        for (int i = 0; i < cls.length; i++) cls[i] = i / SYN;
        boolean[] seen = new boolean[K];
        for (int k = 0; k < K; k += 2) seen[k] = true;
        texts = new OdiseClassifier.Texts(K, cls, rand(r, K * SYN * P), rand(r, P), rand(r, K * SYN * E), seen);
        probs = OdiseClassifier.classify(maskEmbed, clipEmbed, Q, texts, 14.3f, 100f, 0.3f, 0.7f).probabilities();
        thing = new boolean[K];
        for (int k = 0; k < 80; k++) thing[k] = true;
        fBuf = direct(maskFeatures);
        mBuf = direct(maskLogits);
        outBuf = ByteBuffer.allocateDirect(Q * M * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        tileFeatures = rand(r, C * 128 * 128);
        demo = Segmenter.builder().model("builtin:colour-world-odise").cacheDir(Path.of(System.getProperty("java.io.tmpdir"), "ovseg-bench-odise"))
                .build();
        byte[] rgb = new byte[512 * 384 * 3];
        for (int p = 0; p < 512 * 384; p++) {
            int c = (p % 512) < 256 ? 0xFF0000 : ((p / 512) < 192 ? 0x0000FF : 0xFFFFFF);
            rgb[3 * p] = (byte) (c >> 16);
            rgb[3 * p + 1] = (byte) (c >> 8);
            rgb[3 * p + 2] = (byte) c;
        }
        scene = new RgbImage(512, 384, rgb);
    }

    @TearDown(Level.Trial)
    public void close() {
        demo.close();
    }

    private static float[] rand(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    private static FloatBuffer direct(float[] a) {
        FloatBuffer f = ByteBuffer.allocateDirect(a.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        f.put(a).flip();
        return f;
    }

    /** Averaging six 512² crops' stride-4 maps (512 channels) into the 1024 × 1536 map: the costliest level. */
    @Benchmark
    public float[] tilingStride4() {
        SlideTiling t = SlideTiling.of(H, W, 512);
        SlideTiling.Accumulator a = new SlideTiling.Accumulator(t, C, 4);
        for (SlideTiling.Tile tile : t.tiles()) a.add(tile, tileFeatures, 0, 512);
        return a.average();
    }

    /** Hard mask pooling of the 256-d mask features in 100 masks at 256 × 384 (native kernel). */
    @Benchmark
    public FloatBuffer maskPooling() {
        CpuKernels.maskPool(fBuf, mBuf, 1, M, Q, (H / 4) * (W / 4), MaskMode.HARD, false, outBuf);
        return outBuf;
    }

    /** Both heads' cosine logits over 399 synonyms, max per category, void, ensemble. */
    @Benchmark
    public OdiseClassifier classification() {
        return OdiseClassifier.classify(maskEmbed, clipEmbed, Q, texts, 14.3f, 100f, 0.3f, 0.7f);
    }

    /** Mask2Former's semantic map (133 classes) and panoptic merge at 1024 × 1536, masks streamed, the sum on the native GEMM. */
    @Benchmark
    public PanopticInference.Result panopticAndSemantic() {
        return PanopticInference.infer(probs, Q, K, maskLogits, H / 4, W / 4, H, W, H, W, H, W, thing, 0f, 0.8f, false);
    }

    /** The same with the semantic sum in the former Java loop: the baseline for {@link #panopticAndSemantic}. */
    @Benchmark
    public PanopticInference.Result panopticAndSemanticJavaLoop() {
        return JavaLoopPanopticInference.infer(probs, Q, K, maskLogits, H / 4, W / 4, H, W, H, W, H, W, thing, 0f, 0.8f, false);
    }

    /** builtin:colour-world-odise end to end on a 512 × 384 scene (resized to short side 256), 8 labels. */
    @Benchmark
    public Object demoPipeline() {
        List<String> l = new ArrayList<>(List.of("red", "green", "blue", "yellow", "cyan", "magenta", "white", "black"));
        return demo.segment(scene, Labels.of(l));
    }
}
