package org.ovseg.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import org.ovseg.api.Segmenter;
import org.ovseg.engine.Backend;

/**
 * The model and pipeline options every command that runs a {@link Segmenter} accepts ({@code
 * segment}, {@code eval}), parsed in one place so the commands cannot drift apart. Each value is
 * checked here, before the model loads; whether the pipeline takes it is checked by {@link
 * Segmenter.Builder#build()}.
 */
final class SegmenterOptions {
    /** Options that take a value. */
    static final Set<String> VALUED = Set.of("model", "backend", "size", "templates", "window", "stride", "key-smoothing",
            "prompt-denoising", "threads", "cache-dir", "max-pixels", "preset", "pipeline", "sam", "sam-points", "gradcam-memory", "method",
            "precision", "bg-threshold", "sam-pred-iou", "sam-stability", "sam-nms");
    /** Boolean flags. */
    static final Set<String> FLAGS = Set.of("no-text-cache", "pamr");

    /** Usage lines for these options (no indentation: {@code USAGE.indent(n)} lines them up under a command's own). */
    static final String USAGE = """
                                 [--model DIR|builtin:NAME] [--pipeline NAME] [--preset NAME]
                                 [--backend auto|cpu|tensorrt] [--precision fp32|fp16|int8]
                                 [--size 512] [--window N --stride M]
                                 [--templates imagenet80|maskclip85|single|FILE]
                                 [--method maskclip|sclip|clearclip|naclip|proxyclip] [--pamr]
                                 [--key-smoothing T] [--prompt-denoising T] [--bg-threshold T]
                                 [--threads N] [--cache-dir DIR] [--no-text-cache] [--max-pixels N]
                                 [--sam DIR [--sam-points 64] [--sam-pred-iou 0.88] [--sam-stability 0.95] [--sam-nms 0.7]]
                                 [--gradcam-memory BYTES]""";

    private SegmenterOptions() {}

    /** @return {@code a} and {@code b} together */
    static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> s = new java.util.HashSet<>(a);
        s.addAll(b);
        return Set.copyOf(s);
    }

    /**
     * A builder with every model and pipeline option of {@code a} applied.
     *
     * @throws UsageException for a malformed or out-of-range value
     */
    static Segmenter.Builder builder(Args a) {
        Backend backend = backend(a);
        int window = window(a), stride = a.intValue("stride", window / 2, 0, 8192);
        Segmenter.Builder b = Segmenter.builder().backend(backend).diskTextCache(!a.flag("no-text-cache"));
        if (window > 0) b.slidingWindow(window, stride);
        return applyRest(a, b);
    }

    /**
     * Checks the options that need no model (backend name, window and stride), so a command can
     * fail on them before it touches any file.
     *
     * @throws UsageException for a malformed value
     */
    static void check(Args a) {
        backend(a);
        window(a);
        precision(a);
    }

    private static String precision(Args a) {
        String p = a.get("precision", null);
        if (p != null && !Set.of("fp32", "fp16", "int8").contains(p.toLowerCase(Locale.ROOT))) {
            throw new UsageException("--precision must be fp32, fp16 or int8, got '" + p + "'");
        }
        return p;
    }

    private static Backend backend(Args a) {
        return switch (a.get("backend", "auto").toLowerCase(Locale.ROOT)) {
            case "auto" -> Backend.AUTO;
            case "cpu" -> Backend.CPU;
            case "tensorrt", "trt", "gpu" -> Backend.TENSORRT;
            default -> throw new UsageException("--backend must be auto, cpu or tensorrt, got '" + a.get("backend", "") + "'");
        };
    }

    private static int window(Args a) {
        int window = a.intValue("window", 0, 0, 8192), stride = a.intValue("stride", window / 2, 0, 8192);
        if (window > 0 && (stride <= 0 || stride > window)) throw new UsageException("--stride must be between 1 and --window");
        if (a.get("stride", null) != null && window == 0) throw new UsageException("--stride needs --window");
        return window;
    }

    private static Segmenter.Builder applyRest(Args a, Segmenter.Builder b) {
        if (a.get("model", null) != null) b.model(a.get("model", null));
        if (a.get("pipeline", null) != null) {
            try {
                b.pipeline(a.get("pipeline", null));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--pipeline: " + e.getMessage());
            }
        }
        if (precision(a) != null) b.precision(precision(a));
        if (a.get("size", null) != null) b.size(a.intValue("size", 512, 16, 8192));
        if (a.get("templates", null) != null) b.templates(a.get("templates", null));
        if (a.get("key-smoothing", null) != null) b.keySmoothing(floatValue(a, "key-smoothing"));
        if (a.get("prompt-denoising", null) != null) b.promptDenoising(floatValue(a, "prompt-denoising"));
        if (a.get("bg-threshold", null) != null) {
            float t = floatValue(a, "bg-threshold");
            if (!(t >= 0 && t <= 1)) throw new UsageException("--bg-threshold must be between 0 and 1, got " + t);
            b.bgThreshold(t);
        }
        if (a.get("threads", null) != null) b.threads(a.intValue("threads", 0, 0, 1024));
        if (a.get("cache-dir", null) != null) b.cacheDir(Path.of(a.get("cache-dir", null)));
        if (a.get("preset", null) != null) b.preset(a.get("preset", null));
        if (a.get("method", null) != null) {
            try {
                b.method(a.get("method", null));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--method: " + e.getMessage());
            }
        }
        if (a.flag("pamr")) b.pamr(true);
        if (a.get("gradcam-memory", null) != null) b.carGradCamMemory(a.longValue("gradcam-memory", 0, Long.MAX_VALUE));
        if (a.get("max-pixels", null) != null) b.maxPixels(a.longValue("max-pixels", 1, Long.MAX_VALUE));
        for (String o : new String[] {"sam-points", "sam-pred-iou", "sam-stability", "sam-nms"}) {
            if (a.get(o, null) != null && a.get("sam", null) == null) throw new UsageException("--" + o + " needs --sam DIR");
        }
        if (a.get("sam", null) != null) {
            b.samBundle(Path.of(a.get("sam", null)));
            boolean thresholds = a.get("sam-pred-iou", null) != null || a.get("sam-stability", null) != null || a.get("sam-nms", null) != null;
            if (a.get("sam-points", null) != null || thresholds) {
                // the generator's filters (lowered, e.g., for random test weights); the merge's keep the preset's
                org.ovseg.pipeline.sam.SamOptions o = org.ovseg.pipeline.sam.SamOptions.CAR.withPointsPerSide(a.intValue("sam-points", 64, 1, 1024));
                try {
                    b.samOptions(o.withThresholds(SamMasksCommand.number(a, "sam-pred-iou", o.predIouThreshold()),
                            SamMasksCommand.number(a, "sam-stability", o.stabilityScoreThreshold()), SamMasksCommand.number(a, "sam-nms", o.boxNmsThreshold())));
                } catch (IllegalArgumentException e) {
                    throw new UsageException("--sam-*: " + e.getMessage());
                }
            }
        }
        return b;
    }

    /** Options that change how a result is computed or stored, never what it is. */
    private static final Set<String> RESULT_NEUTRAL = Set.of("threads", "cache-dir", "no-text-cache", "max-pixels");

    /**
     * The options as given that can change a prediction, in a stable order: what a kept result
     * must have been made with to be reused (thread count or cache folder may differ).
     */
    static java.util.SortedMap<String, String> affectingResults(Args a) {
        java.util.SortedMap<String, String> m = new java.util.TreeMap<>();
        for (String k : VALUED) if (!RESULT_NEUTRAL.contains(k) && a.get(k, null) != null) m.put(k, a.get(k, null));
        for (String k : FLAGS) if (!RESULT_NEUTRAL.contains(k) && a.flag(k)) m.put(k, "true");
        return m;
    }

    private static float floatValue(Args a, String name) {
        try {
            return Float.parseFloat(a.get(name, null));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + a.get(name, null) + "'");
        }
    }
}
