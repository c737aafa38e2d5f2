package org.ovseg.pipeline.maskclip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.engine.Backend;
import org.ovseg.engine.EngineOptions;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.text.TextEmbeddingCache;

/**
 * The pipeline with its dense head packed once ({@code DenseHead}) against the per-call kernel,
 * on the built-in demo model: both run the same packing and tiles, so labels and logits must
 * match exactly (tolerance 0), for whole-image and sliding-window inference and a head with a
 * bias (the family methods reach the same call with their own features). Then what closing the
 * pipeline does.
 */
class MaskClipPreparedHeadTest {
    @TempDir
    static Path cache;

    static ModelBundle bundle;
    static MaskClipModel model;
    static final List<String> LABELS = List.of("red", "green", "blue", "yellow");

    @BeforeAll
    static void load() {
        bundle = BundleLoader.load(BuiltinBundles.resolve("builtin:colour-world", cache));
        model = MaskClipLoader.load(bundle, EngineOptions.builder().backend(Backend.CPU).build(),
                new TextEmbeddingCache(cache.resolve("text")));
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    /** Four coloured quadrants with noise, at a size that is not a multiple of the patch. */
    static RgbImage image() {
        int w = 70, h = 53;
        SplittableRandom rng = new SplittableRandom(13);
        byte[] rgb = new byte[w * h * 3];
        int[][] colours = {{230, 20, 20}, {20, 210, 30}, {25, 30, 220}, {220, 215, 25}};
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] c = colours[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)];
                for (int ch = 0; ch < 3; ch++) {
                    rgb[(y * w + x) * 3 + ch] = (byte) Math.max(0, Math.min(255, c[ch] + rng.nextInt(-40, 41)));
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static void assertSameOutput(MaskClipModel m, MaskClipOptions opts, FamilyHead family, String what) {
        MaskClipOutput prepared, perCall;
        try (MaskClipPipeline a = new MaskClipPipeline(m, opts, family, true);
                MaskClipPipeline b = new MaskClipPipeline(m, opts, family, false)) {
            assertTrue(a.preparedHead(), what);
            assertFalse(b.preparedHead(), what);
            RgbImage img = image();
            prepared = a.segment(img, LABELS);
            perCall = b.segment(img, LABELS);
        }
        assertNotNull(prepared.logits(), what);
        assertArrayEquals(perCall.logits(), prepared.logits(), what + ": logits");
        assertArrayEquals(perCall.labels(), prepared.labels(), what + ": labels");
        assertArrayEquals(perCall.scores(), prepared.scores(), what + ": scores");
    }

    @Test
    void preparedHeadGivesThePerCallKernelsOutputs() {
        PipelineOptions keep = PipelineOptions.none().with(PipelineOption.KEEP_LOGITS, true);
        assertSameOutput(model, MaskClipMethod.settings(bundle, keep), null, "whole image");
        assertSameOutput(model, MaskClipMethod.settings(bundle, keep.with(PipelineOption.WINDOW, 32).with(PipelineOption.STRIDE, 16)),
                null, "sliding window");
        // A ResNet-style head (W and a bias b): the demo model has none, so give it one.
        SplittableRandom rng = new SplittableRandom(5);
        float[] bias = new float[model.embedDim()];
        for (int i = 0; i < bias.length; i++) bias[i] = (float) rng.nextGaussian() * 0.3f;
        MaskClipModel biased = new MaskClipModel(model.image(), model.text(), model.imageInput(), model.positionInput(),
                model.featuresOutput(), model.keysOutput(), model.positionalEmbedding(), model.positionGrid(), model.patch(),
                model.width(), model.headWeight(), bias, model.mean(), model.std(), model.logitScale(), model.textEngine());
        assertSameOutput(biased, MaskClipMethod.settings(bundle, keep), null, "with a bias");
    }

    @Test
    void closeFreesTheHeadAndLaterCallsAreRefused() {
        MaskClipOptions opts = MaskClipMethod.settings(bundle, PipelineOptions.none());
        MaskClipPipeline p = new MaskClipPipeline(model, opts);
        int[] before = p.segment(image(), LABELS).labels();
        p.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.segment(image(), LABELS));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertDoesNotThrow(p::close, "close is idempotent");
        // The model is the caller's: a new pipeline on it still works and agrees.
        try (MaskClipPipeline again = new MaskClipPipeline(model, opts)) {
            assertArrayEquals(before, again.segment(image(), LABELS).labels());
        }
    }

    @Test
    void closeWhileOtherThreadsSegmentNeverFreesTheHeadUnderThem() throws Exception {
        MaskClipOptions opts = MaskClipMethod.settings(bundle, PipelineOptions.none());
        int[] want;
        try (MaskClipPipeline ref = new MaskClipPipeline(model, opts, null, false)) {
            want = ref.segment(image(), LABELS).labels();
        }
        MaskClipPipeline p = new MaskClipPipeline(model, opts);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        AtomicInteger done = new AtomicInteger(), refused = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                fs.add(pool.submit(() -> {
                    RgbImage img = image();
                    while (!stop.get()) {
                        try {
                            assertArrayEquals(want, p.segment(img, LABELS).labels());
                            done.incrementAndGet();
                        } catch (IllegalStateException closed) {
                            refused.incrementAndGet();
                            return null;
                        }
                    }
                    return null;
                }));
            }
            while (done.get() < 6) Thread.sleep(5);
            p.close();
            stop.set(true);
            for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS); // rethrows a wrong result or any other failure
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
        assertTrue(done.get() >= 6);
        assertThrows(IllegalStateException.class, () -> p.segment(image(), LABELS));
    }
}
