package org.ovseg.api;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
import org.ovseg.pipeline.Capability;
import org.ovseg.pipeline.PipelineFactory;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.pipeline.PipelineRegistry;
import org.ovseg.pipeline.PipelineRequest;
import org.ovseg.pipeline.PipelineResources;
import org.ovseg.pipeline.SegmentationPipeline;
import org.ovseg.pipeline.common.SizePolicy;
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
    /** The model used when neither a model nor a pipeline is named: the built-in demonstration model. */
    public static final String DEFAULT_MODEL = "builtin:colour-world";

    private final ModelBundle bundle;
    private final SegmentationPipeline pipeline;
    private final ImageDecoder decoder;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private Segmenter(Builder b) {
        PipelineFactory requested = b.pipelineName == null ? null : PipelineRegistry.get(b.pipelineName);
        String modelName = b.model != null ? b.model : requested != null ? requested.demoModel() : DEFAULT_MODEL;
        this.decoder = new ImageDecoder(b.maxPixels); // validates before anything native opens
        Path dir = modelName.startsWith("builtin:") ? BuiltinBundles.resolve(modelName, b.cacheDir) : Path.of(modelName);
        this.bundle = BundleLoader.load(dir);
        String kind = bundle.manifest().pipeline();
        if (requested != null && !requested.name().equals(kind)) {
            throw new OvsegException("model " + modelName + " is a '" + kind + "' bundle, not '" + requested.name()
                    + "' (omit --model to run " + requested.demoModel() + ")");
        }
        PipelineFactory factory = PipelineRegistry.find(kind).orElseThrow(() -> new OvsegException("model " + modelName
                + " is a '" + kind + "' bundle; this version of ovseg runs " + String.join(", ", PipelineRegistry.names()) + " bundles"));
        checkOptions(factory, b.options);
        EngineOptions.Builder eo = EngineOptions.builder().backend(b.backend);
        if (b.precision != null) {
            boolean present = b.precision.equals("fp32") || bundle.manifest().networks().values().stream()
                    .anyMatch(n -> n.precision().equals(b.precision) || n.variants().containsKey(b.precision));
            if (!present) throw new OvsegException("model " + modelName + " has no " + b.precision + " variant of any network"
                    + (b.precision.equals("int8") ? " (export it with tools/export/export_clip.py --int8)" : ""));
            eo.precisionPreference(b.precision.equals("fp32") ? new String[] {"fp32"} : new String[] {b.precision, "fp32"});
        }
        if (b.threads > 0) eo.intraOpThreads(b.threads);
        if (b.cacheDir != null) eo.planCacheDir(b.cacheDir.resolve("tensorrt-plans"));
        TextEmbeddingCache cache = new TextEmbeddingCache(b.textCache ? (b.cacheDir == null ? TextEmbeddingCache.defaultDirectory()
                : b.cacheDir.resolve("text-embeddings")) : null);
        this.pipeline = factory.open(bundle, b.options, new PipelineResources(eo.build(), cache));
    }

    /** Every option set must be one the pipeline takes, and a preset one it knows: never silently ignored. */
    private static void checkOptions(PipelineFactory factory, PipelineOptions options) {
        for (PipelineOption<?> o : options.keys()) {
            if (!factory.options().contains(o)) {
                throw new OvsegException("option " + o + " does not apply to the '" + factory.name() + "' pipeline (it takes "
                        + factory.options().stream().map(Object::toString).sorted().collect(java.util.stream.Collectors.joining(", ")) + ")");
            }
        }
        options.get(PipelineOption.PRESET).ifPresent(p -> {
            if (!factory.presets().contains(p.toLowerCase(java.util.Locale.ROOT))) {
                throw new OvsegException("unknown preset '" + p + "' for the '" + factory.name() + "' pipeline (known: "
                        + String.join(", ", new java.util.TreeSet<>(factory.presets())) + ")");
            }
        });
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
        Objects.requireNonNull(labels, "labels");
        run(() -> {
            validateTexts(labels);
            return null;
        });
    }

    private void validateTexts(Labels labels) {
        try {
            pipeline.validate(labels.names());
        } catch (InvalidLabelsException e) {
            throw e;
        } catch (OvsegException e) {
            throw new InvalidLabelsException(e.getMessage());
        }
    }

    /** Decodes an image file the way {@link #segment(Path, Labels)} does. */
    public RgbImage readImage(Path file) {
        return decoder.decode(file);
    }

    /**
     * Decodes in-memory image file bytes (an upload) with the same checks as {@link
     * #readImage(Path)}; {@code name} appears in error messages.
     */
    public RgbImage readImage(byte[] bytes, String name) {
        return decoder.decode(Objects.requireNonNull(bytes, "bytes"), name);
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
        Objects.requireNonNull(labels, "labels");
        return run(image, labels, labels, PipelineRequest.Segment.of(labels.names()));
    }

    /**
     * Segments into thing classes and stuff classes; the result's labels are the things followed
     * by the stuff. What the split changes depends on the method: CaR runs its second pass for
     * stuff with the things as Grad-CAM background; panoptic methods never split stuff into
     * instances; MaskCLIP labels both alike.
     *
     * @throws InvalidLabelsException when a word appears in both lists
     */
    public SegmentationResult segmentWithStuff(RgbImage image, Labels things, Labels stuff) {
        Objects.requireNonNull(things, "things");
        Objects.requireNonNull(stuff, "stuff");
        List<String> all = new ArrayList<>(things.names());
        all.addAll(stuff.names());
        Labels combined = Labels.of(all);
        return run(image, combined, combined, new PipelineRequest.Segment(things.names(), stuff.names()));
    }

    /**
     * Referring segmentation. When {@link #referSentencesAreOneObject()} (CaR), the sentences all
     * describe one object and the result has a single label (the first sentence) whose mask is the
     * object's; otherwise (X-Decoder) each sentence names its own object and the result's labels are
     * the sentences, label i covering sentence i's mask.
     *
     * @throws OvsegException when the pipeline cannot do referring segmentation
     */
    public SegmentationResult refer(RgbImage image, Labels sentences) {
        Objects.requireNonNull(sentences, "sentences");
        Labels resultLabels = pipeline.referSentencesAreOneObject() ? Labels.of(List.of(sentences.get(0))) : sentences;
        return run(image, sentences, resultLabels, new PipelineRequest.Refer(sentences.names()));
    }

    /**
     * @return how {@link #refer} reads several sentences: true, all describe one object (one mask);
     *     false, one mask per sentence
     */
    public boolean referSentencesAreOneObject() {
        return pipeline.referSentencesAreOneObject();
    }

    /** @param texts what the pipeline reads (validated); @param resultLabels what the result's label indices name */
    private SegmentationResult run(RgbImage image, Labels texts, Labels resultLabels, PipelineRequest request) {
        Objects.requireNonNull(image, "image");
        Capability needed = request.needs();
        if (needed != null && !pipeline.capabilities().contains(needed)) {
            throw new OvsegException(needed.description() + " is not available with the '" + pipeline.name() + "' pipeline (pipelines that can: "
                    + String.join(", ", PipelineRegistry.having(needed)) + ")");
        }
        return run(() -> {
            validateTexts(texts);
            return new SegmentationResult(resultLabels, pipeline.run(image, request), pipeline.name(), pipeline.backends(),
                    pipeline.precisions());
        });
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

    /** @return the method this Segmenter runs, e.g. "maskclip" */
    public String pipeline() {
        return pipeline.name();
    }

    /** @return the capability names of its pipeline (e.g. "REFER", "PANOPTIC"), for callers that adapt to the method */
    public java.util.Set<String> capabilities() {
        java.util.Set<String> s = new java.util.TreeSet<>();
        for (Capability c : pipeline.capabilities()) s.add(c.name());
        return java.util.Collections.unmodifiableSet(s);
    }

    /** @return "tensorrt", "onnxruntime-cpu", or "mixed" when the networks run on different backends */
    public String backend() {
        java.util.Set<String> distinct = new java.util.LinkedHashSet<>(pipeline.backends().values());
        return distinct.size() == 1 ? distinct.iterator().next() : "mixed";
    }

    /** @return network role → the backend that runs it */
    public Map<String, String> backends() {
        return pipeline.backends();
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
            pipeline.close();
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    /**
     * Options for {@link Segmenter}; every setter validates its value at once. Method settings
     * (size, window, presets, ...) are checked against the pipeline at {@link #build()}: one the
     * pipeline does not take is an error, never silently ignored.
     */
    public static final class Builder {
        private String model;
        private Backend backend = Backend.AUTO;
        private int threads;
        private Path cacheDir;
        private boolean textCache = true;
        private long maxPixels = ImageDecoder.DEFAULT_MAX_PIXELS;
        private String pipelineName;
        private String precision;
        private PipelineOptions options = PipelineOptions.none();

        private Builder() {}

        /**
         * A bundle directory, or {@code builtin:<name>}. Unset: the demonstration model of the
         * pipeline named with {@link #pipeline}, else {@value Segmenter#DEFAULT_MODEL}.
         */
        public Builder model(String model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /**
         * The method to run, by registry name ("maskclip", "car", ...). A bundle is built for one
         * method, so this picks that method's built-in demo model when no model is given, and
         * otherwise makes {@link #build()} fail with a clear message when the bundle is of another
         * kind. Unset: the bundle decides.
         */
        public Builder pipeline(String name) {
            String n = Objects.requireNonNull(name, "pipeline").toLowerCase(Locale.ROOT);
            if (PipelineRegistry.find(n).isEmpty()) {
                throw new IllegalArgumentException("unknown pipeline '" + name + "' (this version runs " + String.join(", ", PipelineRegistry.names()) + ")");
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
            return set(PipelineOption.SIZE, shortSide);
        }

        /** Sliding-window inference with square windows; 0 means whole-image (the default). */
        public Builder slidingWindow(int window, int stride) {
            if (window < 0 || (window > 0 && (stride <= 0 || stride > window))) {
                throw new IllegalArgumentException("sliding window needs 0 < stride <= window, got " + window + "/" + stride);
            }
            if (window == 0) return set(PipelineOption.WINDOW, null).set(PipelineOption.STRIDE, null);
            return set(PipelineOption.WINDOW, window).set(PipelineOption.STRIDE, stride);
        }

        /** Prompt templates: "imagenet80", "maskclip85", "single" or a file. */
        public Builder templates(String templates) {
            PromptTemplates.named(templates);
            return set(PipelineOption.TEMPLATES, templates);
        }

        /** A named set of the method's official settings (CaR: voc, coco-object, context, ade, refcoco). */
        public Builder preset(String preset) {
            Objects.requireNonNull(preset, "preset");
            return set(PipelineOption.PRESET, preset.toLowerCase(Locale.ROOT));
        }

        /**
         * How the MaskCLIP pipeline runs CLIP's last block: "maskclip" (default), "sclip",
         * "clearclip", "naclip" or "proxyclip" (the training-free successors; proxyclip needs a
         * bundle exported with a DINO network).
         */
        public Builder method(String method) {
            Objects.requireNonNull(method, "method");
            org.ovseg.pipeline.maskclip.FamilyMethod.named(method);
            return set(PipelineOption.METHOD, method.toLowerCase(Locale.ROOT));
        }

        /** Refine the final logits with PAMR (10 iterations, dilations 8 and 16, as NACLIP does). */
        public Builder pamr(boolean on) {
            return set(PipelineOption.PAMR, on ? Boolean.TRUE : null);
        }

        /** MaskCLIP's key-smoothing threshold (0 = off). */
        public Builder keySmoothing(float threshold) {
            if (!(threshold >= 0)) throw new IllegalArgumentException("key smoothing threshold must be >= 0");
            return set(PipelineOption.KEY_SMOOTHING, threshold);
        }

        /** MaskCLIP's prompt-denoising threshold (0 = off). */
        public Builder promptDenoising(float threshold) {
            if (!(threshold >= 0)) throw new IllegalArgumentException("prompt denoising threshold must be >= 0");
            return set(PipelineOption.PROMPT_DENOISING, threshold);
        }

        /**
         * OVSegmentor's background threshold in [0, 1]: a pixel whose group's best class score stays
         * below min(threshold, the crop's best score) is unassigned (0 = no background).
         */
        public Builder bgThreshold(float threshold) {
            if (!(threshold >= 0 && threshold <= 1)) throw new IllegalArgumentException("background threshold must be in [0, 1], got " + threshold);
            return set(PipelineOption.BG_THRESHOLD, threshold);
        }

        /** Keep the final maps in each result ({@link SegmentationResult#logits()}; 4·K·W·H bytes). */
        public Builder keepLogits(boolean keep) {
            return set(PipelineOption.KEEP_LOGITS, keep ? Boolean.TRUE : null);
        }

        /**
         * CaR: bytes the Grad-CAM graph's batched backward may take (default 1 GiB; 0 = no
         * limit). More queries than fit run in chunks — the same maps, one more forward pass per
         * chunk. A ViT-B/16 at 513² needs ~230 MB per query; at 1024², ~3.2 GB.
         */
        public Builder carGradCamMemory(long bytes) {
            if (bytes < 0) throw new IllegalArgumentException("Grad-CAM memory must be >= 0 bytes, is " + bytes);
            return set(PipelineOption.GRADCAM_MEMORY, bytes);
        }

        /**
         * CaR's optional SAM merge: a "sam" bundle (tools/export/export_sam.py) whose automatic
         * masks refine each post-CRF mask; null turns it off.
         */
        public Builder samBundle(Path dir) {
            return set(PipelineOption.SAM_BUNDLE, dir);
        }

        /** Settings of SAM's automatic mask generator (default: CaR's, 64 points per side). */
        public Builder samOptions(org.ovseg.pipeline.sam.SamOptions options) {
            return set(PipelineOption.SAM_OPTIONS, Objects.requireNonNull(options, "samOptions"));
        }

        private <T> Builder set(PipelineOption<T> option, T value) {
            options = options.with(option, value);
            return this;
        }

        /**
         * The precision variant of the bundle's networks to run: "fp32", "fp16" or "int8". Unset:
         * fp32 on the CPU, the bundle's fp16 variant on TensorRT. "int8" runs a network's int8
         * variant where it has one (MaskCLIP bundles: the image encoder), fp32 elsewhere; the CPU
         * never takes int8 unless asked. "fp16" changes only TensorRT: ONNX Runtime's CPU provider
         * runs half-precision graphs through casts, so the CPU stays on fp32. {@link #build()}
         * fails when no network of the bundle has the variant.
         */
        public Builder precision(String precision) {
            String p = Objects.requireNonNull(precision, "precision").trim().toLowerCase(Locale.ROOT);
            if (!java.util.Set.of("fp32", "fp16", "int8").contains(p)) {
                throw new IllegalArgumentException("precision must be fp32, fp16 or int8, got '" + precision + "'");
            }
            this.precision = p;
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
