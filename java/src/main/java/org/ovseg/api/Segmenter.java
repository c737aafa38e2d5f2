package org.ovseg.api;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.ovseg.OvsegException;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.engine.Backend;
import org.ovseg.engine.EngineOptions;
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.car.CarLoop;
import org.ovseg.pipeline.car.CarPipeline;
import org.ovseg.pipeline.car.CarSettings;
import org.ovseg.pipeline.common.SizePolicy;
import org.ovseg.pipeline.maskclip.MaskClipLoader;
import org.ovseg.pipeline.maskclip.MaskClipModel;
import org.ovseg.pipeline.maskclip.MaskClipOptions;
import org.ovseg.pipeline.maskclip.MaskClipOutput;
import org.ovseg.pipeline.maskclip.MaskClipPipeline;
import org.ovseg.text.PromptTemplates;
import org.ovseg.text.TextEmbeddingCache;

/**
 * Open-vocabulary segmentation with one model bundle: give it an image and any labels, get a
 * label per pixel.
 *
 * <pre>{@code
 * try (Segmenter s = Segmenter.builder().model("builtin:colour-world").build()) {
 *     SegmentationResult r = s.segment(Path.of("photo.png"), Labels.parse("red, green, sky"));
 *     int label = r.labelAt(10, 20);
 * }
 * }</pre>
 *
 * <p>Thread-safety: {@link #segment} may be called from many threads at once; the networks are
 * shared (ONNX Runtime sessions are thread-safe) and each call has its own buffers. {@link
 * #close()} waits for calls in flight, releases every native resource, and makes later calls
 * throw {@link IllegalStateException}.
 */
public final class Segmenter implements AutoCloseable {
    /** The model used when none is named: the built-in demonstration model. */
    public static final String DEFAULT_MODEL = "builtin:colour-world";
    /** The built-in CaR demonstration model, used for {@code pipeline("car")} without a model. */
    public static final String DEFAULT_CAR_MODEL = "builtin:colour-world-car";

    private final ModelBundle bundle;
    private final MaskClipModel model;
    private final MaskClipPipeline pipeline;
    private final CarPipeline car;
    private final String carPreset;
    private final org.ovseg.pipeline.sam.SamAutomaticMasks sam;
    private final boolean keepLogits;
    private final ImageDecoder decoder;
    private final String backendName;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private Segmenter(Builder b) {
        String modelName = !b.modelSet && "car".equals(b.pipelineName) ? DEFAULT_CAR_MODEL : b.model;
        Path dir = modelName.startsWith("builtin:") ? BuiltinBundles.resolve(modelName, b.cacheDir) : Path.of(modelName);
        this.bundle = BundleLoader.load(dir);
        String kind = bundle.manifest().pipeline();
        if (b.pipelineName != null && !b.pipelineName.equals(kind)) {
            throw new OvsegException("model " + modelName + " is a '" + kind + "' bundle, not '" + b.pipelineName + "'"
                    + (b.pipelineName.equals("car") ? " (CaR needs a bundle from tools/export/export_car.py with a classifier, or "
                            + DEFAULT_CAR_MODEL + ")" : ""));
        }
        this.keepLogits = b.keepLogits;
        if (!kind.equals("maskclip") && !kind.equals("car")) {
            throw new OvsegException("model " + modelName + " is a '" + kind + "' bundle; this version of ovseg runs 'maskclip' and 'car' bundles");
        }
        if (b.samBundle != null && !kind.equals("car")) {
            throw new OvsegException("a SAM bundle (--sam) refines CaR masks only, but model " + modelName + " is a '" + kind + "' bundle");
        }
        EngineOptions.Builder eo = EngineOptions.builder().backend(b.backend);
        if (b.threads > 0) eo.intraOpThreads(b.threads);
        if (b.cacheDir != null) eo.planCacheDir(b.cacheDir.resolve("tensorrt-plans"));
        TextEmbeddingCache cache = new TextEmbeddingCache(b.textCache ? (b.cacheDir == null ? TextEmbeddingCache.defaultDirectory()
                : b.cacheDir.resolve("text-embeddings")) : null);
        if (kind.equals("car")) {
            // The bundle may name its own default preset (the built-in demo does; see its notes).
            Object bundlePreset = bundle.manifest().defaults().get("car_preset");
            String preset = b.carPreset != null ? b.carPreset : bundlePreset instanceof String s ? s : "voc";
            ImageDecoder imageDecoder = new ImageDecoder(b.maxPixels); // validates before anything native opens
            this.car = CarPipeline.open(bundle, eo.build(), cache, CarSettings.preset(preset), b.gradCamMemory);
            this.sam = b.samBundle == null ? null : openSam(b, eo.build(), car);
            this.carPreset = preset;
            this.model = null;
            this.pipeline = null;
            this.decoder = imageDecoder;
            this.backendName = car.backendName(); // what really runs: TensorRT may have fallen back
            return;
        }
        this.car = null;
        this.sam = null;
        this.carPreset = null;
        // TensorRT's profiles must cover the sizes this Segmenter will feed, --size included.
        SizePolicy feed = b.size > 0 ? SizePolicy.shortSide(b.size)
                : new SizePolicy(bundle.manifest().preprocessing().size(), bundle.manifest().preprocessing().maxLongSide());
        org.ovseg.engine.ProfileHints hints = org.ovseg.engine.ProfileHints.of(bundle.manifest()).withShortSide(feed.shortSide(),
                feed.longSideMax());
        this.model = MaskClipLoader.load(bundle, eo.build(), cache, hints);
        try {
            var defaults = bundle.manifest().defaults();
            float ks = b.keySmoothing != null ? b.keySmoothing : number(defaults.get("key_smoothing"));
            float pd = b.promptDenoising != null ? b.promptDenoising : number(defaults.get("prompt_denoising"));
            String templates = b.templates != null ? b.templates
                    : bundle.manifest().text().templateSet() != null ? bundle.manifest().text().templateSet() : "imagenet80";
            MaskClipOptions opts = new MaskClipOptions(feed, b.window, b.stride, PromptTemplates.named(templates), ks, pd, b.keepLogits);
            this.pipeline = new MaskClipPipeline(model, opts);
            this.decoder = new ImageDecoder(b.maxPixels);
            this.backendName = org.ovseg.engine.Engines.backendName(
                    model.textEngine() == null ? java.util.Map.of("image", model.image())
                            : java.util.Map.of("image", model.image(), "text", model.textEngine()));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Opens the SAM bundle and attaches it to the CaR pipeline; closes the pipeline on failure. */
    private static org.ovseg.pipeline.sam.SamAutomaticMasks openSam(Builder b, EngineOptions eo, CarPipeline car) {
        try {
            ModelBundle samBundle = BundleLoader.load(b.samBundle);
            if (!samBundle.manifest().pipeline().equals("sam")) {
                throw new OvsegException("--sam " + b.samBundle + " is a '" + samBundle.manifest().pipeline()
                        + "' bundle, not a SAM bundle (export one with tools/export/export_sam.py)");
            }
            org.ovseg.pipeline.sam.SamAutomaticMasks sam = org.ovseg.pipeline.sam.SamAutomaticMasks.open(samBundle, eo, b.samOptions);
            car.useSam(sam);
            return sam;
        } catch (RuntimeException e) {
            car.close();
            throw e;
        }
    }

    private static float number(Object o) {
        return o instanceof Number n ? n.floatValue() : 0f;
    }

    /** @return a builder with the defaults (built-in model, automatic backend) */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Checks that the labels fit this model's text encoder (context length under every prompt
     * template) without running anything.
     *
     * @throws InvalidLabelsException naming the first label that does not fit
     */
    public void validate(Labels labels) {
        run(() -> {
            if (pipeline == null) return null;
            try {
                pipeline.validateLabels(labels.names());
            } catch (OvsegException e) {
                throw new InvalidLabelsException(e.getMessage());
            }
            return null;
        });
    }

    /** Decodes an image file the way {@link #segment(Path, Labels)} does. */
    public RgbImage readImage(Path file) {
        return decoder.decode(file);
    }

    /** Segments an image file. */
    public SegmentationResult segment(Path imageFile, Labels labels) {
        Objects.requireNonNull(imageFile, "imageFile");
        return segment(readImage(imageFile), labels);
    }

    /**
     * Segments a decoded image into the given labels.
     *
     * @throws InvalidLabelsException when a label does not fit the model's text context
     * @throws IllegalStateException after {@link #close()}
     */
    public SegmentationResult segment(RgbImage image, Labels labels) {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(labels, "labels");
        validate(labels);
        if (car != null) return run(() -> segmentCar(image, labels));
        return run(() -> {
            MaskClipOutput out = pipeline.segment(image, labels.names());
            byte[] map = new byte[out.labels().length];
            for (int i = 0; i < map.length; i++) map[i] = (byte) (out.labels()[i] < 0 ? SegmentationResult.UNASSIGNED : out.labels()[i]);
            return new SegmentationResult(out.width(), out.height(), labels, map, out.scores(), out.logits(),
                    new LinkedHashMap<>(out.timingsMs()), backendName, "maskclip");
        });
    }

    /**
     * Referring segmentation (CaR bundles): the sentences all describe one object; returns a
     * result with a single label (the first sentence) whose mask is the merged object mask.
     *
     * @throws OvsegException when the model is not a CaR bundle
     */
    public SegmentationResult refer(RgbImage image, Labels sentences) {
        Objects.requireNonNull(image, "image");
        if (car == null) throw new OvsegException("referring segmentation needs a 'car' bundle; this model is '" + bundle.manifest().pipeline() + "'");
        return run(() -> {
            long t0 = System.nanoTime();
            boolean[] mask = car.refer(image, sentences.names());
            byte[] map = new byte[mask.length];
            float[] scores = new float[mask.length];
            for (int i = 0; i < map.length; i++) {
                map[i] = (byte) (mask[i] ? 0 : SegmentationResult.UNASSIGNED);
                scores[i] = mask[i] ? 1f : 0f;
            }
            Map<String, Double> timings = new LinkedHashMap<>();
            timings.put("car-refer", (System.nanoTime() - t0) / 1e6);
            return new SegmentationResult(image.width(), image.height(), Labels.of(java.util.List.of(sentences.get(0))), map, scores, null,
                    timings, backendName, "car-refer");
        });
    }

    /**
     * CaR's two-pass labelling (PASCAL Context / ADE20K style): {@code things} first, then
     * {@code stuff} with the thing names as Grad-CAM background; the result's labels are things
     * followed by stuff.
     *
     * @throws OvsegException when the model is not a CaR bundle
     * @throws InvalidLabelsException when a word appears in both lists
     */
    public SegmentationResult segmentWithStuff(RgbImage image, Labels things, Labels stuff) {
        Objects.requireNonNull(image, "image");
        if (car == null) throw new OvsegException("a stuff pass needs a 'car' bundle; this model is '" + bundle.manifest().pipeline() + "'");
        java.util.List<String> all = new java.util.ArrayList<>(things.names());
        all.addAll(stuff.names());
        Labels combined = Labels.of(all);
        return run(() -> segmentCar(image, combined, car.segmentWithStuff(image, things.names(), stuff.names(), carPreset)));
    }

    private SegmentationResult segmentCar(RgbImage image, Labels labels) {
        return segmentCar(image, labels, null);
    }

    private SegmentationResult segmentCar(RgbImage image, Labels labels, CarLoop.Result precomputed) {
        long t0 = System.nanoTime();
        CarLoop.Result r = precomputed != null ? precomputed : car.segment(image, labels.names());
        double ms = (System.nanoTime() - t0) / 1e6;
        byte[] map = new byte[r.labels().length];
        float[] scores = new float[map.length];
        for (int i = 0; i < map.length; i++) {
            int l = r.labels()[i];
            map[i] = (byte) (l < 0 ? SegmentationResult.UNASSIGNED : l);
            scores[i] = l < 0 ? 0f : r.scores()[l];
        }
        java.util.List<Map<String, Object>> steps = new java.util.ArrayList<>();
        for (CarLoop.Step st : r.steps()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("queries", st.queries());
            java.util.List<Double> sc = new java.util.ArrayList<>();
            for (float f : st.scores()) sc.add((double) f);
            m.put("scores", sc);
            m.put("kept", st.kept());
            steps.add(m);
        }
        Map<String, Double> timings = new LinkedHashMap<>(r.timingsMs());
        timings.put("total", ms);
        float[] logits = null;
        if (keepLogits) { // the final proposal maps (before the CRF), [Q, H, W] in the order of the last step
            int n = map.length;
            logits = new float[r.proposals().length * n];
            for (int q = 0; q < r.proposals().length; q++) System.arraycopy(r.proposals()[q], 0, logits, q * n, n);
        }
        return new SegmentationResult(image.width(), image.height(), labels, map, scores, logits, timings, backendName, "car", steps);
    }

    private <T> T run(java.util.function.Supplier<T> body) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("Segmenter is closed");
            return body.get();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** @return "tensorrt" or "onnxruntime-cpu" */
    public String backend() {
        return backendName;
    }

    /** @return the model bundle's directory */
    public Path modelDirectory() {
        return bundle.dir();
    }

    /** @return a short description of the model: pipeline, family and bundle hash */
    public Map<String, String> modelInfo() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("pipeline", bundle.manifest().pipeline());
        m.put("family", bundle.manifest().family());
        m.put("bundle_sha256", bundle.manifestSha256());
        m.put("directory", bundle.dir().toString());
        return m;
    }

    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            // Each in its own finally: one failing close must not leak the others.
            try {
                if (model != null) model.close();
            } finally {
                try {
                    if (car != null) car.close();
                } finally {
                    if (sam != null) sam.close();
                }
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    /** Options for {@link Segmenter}; every setter validates at once. */
    public static final class Builder {
        private String model = DEFAULT_MODEL;
        private Backend backend = Backend.AUTO;
        private int size;
        private int window;
        private int stride;
        private String templates;
        private Float keySmoothing;
        private Float promptDenoising;
        private boolean keepLogits;
        private int threads;
        private Path cacheDir;
        private boolean textCache = true;
        private long maxPixels = ImageDecoder.DEFAULT_MAX_PIXELS;
        private String carPreset;
        private String pipelineName;
        private boolean modelSet;
        private long gradCamMemory = CarPipeline.DEFAULT_GRADCAM_MEMORY;
        private Path samBundle;
        private org.ovseg.pipeline.sam.SamOptions samOptions = org.ovseg.pipeline.sam.SamOptions.CAR;

        private Builder() {}

        /**
         * CaR's optional SAM merge: a "sam" bundle (tools/export/export_sam.py) whose automatic
         * masks refine each post-CRF CaR mask ({@link org.ovseg.pipeline.car.SamRefiner}). Valid
         * only with a "car" model ({@link #build()} fails otherwise); null turns it off.
         */
        public Builder samBundle(Path dir) {
            this.samBundle = dir;
            return this;
        }

        /** Settings of SAM's automatic mask generator (default: CaR's, 64 points per side). */
        public Builder samOptions(org.ovseg.pipeline.sam.SamOptions options) {
            this.samOptions = Objects.requireNonNull(options, "samOptions");
            return this;
        }

        /**
         * A bundle directory, or {@code builtin:<name>} (default {@value Segmenter#DEFAULT_MODEL},
         * or {@value Segmenter#DEFAULT_CAR_MODEL} with {@code pipeline("car")}).
         */
        public Builder model(String model) {
            this.model = Objects.requireNonNull(model, "model");
            this.modelSet = true;
            return this;
        }

        /**
         * CaR: bytes the Grad-CAM graph's batched backward may take (default 1 GiB; 0 = no
         * limit). More queries than fit run in chunks — the same maps, one more forward pass per
         * chunk. A ViT-B/16 at 513² needs ~230 MB per query; at 1024², ~3.2 GB.
         */
        public Builder carGradCamMemory(long bytes) {
            if (bytes < 0) throw new IllegalArgumentException("Grad-CAM memory must be >= 0 bytes, is " + bytes);
            this.gradCamMemory = bytes;
            return this;
        }

        /**
         * The method to run: "maskclip" or "car". A bundle is built for one method, so this picks
         * the built-in demo model when no model is given, and otherwise makes {@link #build()}
         * fail with a clear message when the bundle is of another kind. Unset: the bundle decides.
         */
        public Builder pipeline(String name) {
            String n = Objects.requireNonNull(name, "pipeline").toLowerCase(java.util.Locale.ROOT);
            if (!n.equals("maskclip") && !n.equals("car")) {
                throw new IllegalArgumentException("unknown pipeline '" + name + "' (this version runs maskclip and car)");
            }
            this.pipelineName = n;
            return this;
        }

        /** AUTO (TensorRT when a GPU and its libraries are present, else CPU), CPU or TENSORRT. */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /** Short side the image is rescaled to (the bundle's default when unset). */
        public Builder size(int shortSide) {
            SizePolicy.shortSide(shortSide);
            this.size = shortSide;
            return this;
        }

        /** Sliding-window inference with square windows; 0 means whole-image (the default). */
        public Builder slidingWindow(int window, int stride) {
            if (window < 0 || (window > 0 && (stride <= 0 || stride > window))) {
                throw new IllegalArgumentException("sliding window needs 0 < stride <= window, got " + window + "/" + stride);
            }
            this.window = window;
            this.stride = stride;
            return this;
        }

        /** Prompt templates: "imagenet80", "maskclip85", "single" or a file. */
        public Builder templates(String templates) {
            PromptTemplates.named(templates);
            this.templates = templates;
            return this;
        }

        /** MaskCLIP's key-smoothing threshold (0 = off). */
        public Builder keySmoothing(float threshold) {
            if (!(threshold >= 0)) throw new IllegalArgumentException("key smoothing threshold must be >= 0");
            this.keySmoothing = threshold;
            return this;
        }

        /** MaskCLIP's prompt-denoising threshold (0 = off). */
        public Builder promptDenoising(float threshold) {
            if (!(threshold >= 0)) throw new IllegalArgumentException("prompt denoising threshold must be >= 0");
            this.promptDenoising = threshold;
            return this;
        }

        /** Keep the full-resolution logits in each result (4·K·W·H bytes). */
        public Builder keepLogits(boolean keep) {
            this.keepLogits = keep;
            return this;
        }

        /** Threads for ONNX Runtime (0 = its default). */
        public Builder threads(int threads) {
            if (threads < 0) throw new IllegalArgumentException("threads must be >= 0");
            this.threads = threads;
            return this;
        }

        /** Where built-in bundles, text embeddings and TensorRT plans are cached. */
        public Builder cacheDir(Path dir) {
            this.cacheDir = dir;
            return this;
        }

        /** Whether text embeddings are cached on disk (default true). */
        public Builder diskTextCache(boolean enabled) {
            this.textCache = enabled;
            return this;
        }

        /**
         * CaR preset for "car" bundles: voc, coco-object, context, ade (default: the bundle's
         * {@code defaults.car_preset}, else voc).
         */
        public Builder carPreset(String preset) {
            CarSettings.preset(preset);
            this.carPreset = preset;
            return this;
        }

        /** Largest image accepted, in pixels. */
        public Builder maxPixels(long maxPixels) {
            if (maxPixels <= 0) throw new IllegalArgumentException("maxPixels must be positive");
            this.maxPixels = maxPixels;
            return this;
        }

        /**
         * Loads the model and opens its networks.
         *
         * @throws OvsegException (a BundleException for a malformed bundle) with a one-line reason
         */
        public Segmenter build() {
            return new Segmenter(this);
        }
    }
}
