package org.ovseg.spark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.ovseg.OvsegException;
import org.ovseg.api.Labels;
import org.ovseg.engine.Backend;
import org.ovseg.image.ImageDecoder;
import org.ovseg.pipeline.common.SizePolicy;

/**
 * One labelling job, parsed from {@link LabelCorpus}'s command line. Options that {@code ovseg
 * segment} also has keep its names, meanings and limits; every value is checked here, before
 * Spark starts or a model loads.
 *
 * @param inputFormat null = inferred from the input
 * @param partitions 0 = Spark's default parallelism
 */
public record LabelJob(String input, CorpusInput.Format inputFormat, String output, List<String> labels, SegmenterSpec spec, int partitions) {
    private static final Set<String> VALUED = Set.of("input", "input-format", "output", "labels", "model", "pipeline", "preset", "backend", "size",
            "window", "stride", "templates", "key-smoothing", "prompt-denoising", "threads", "cache-dir", "max-pixels", "partitions");
    private static final Set<String> FLAGS = Set.of("no-text-cache");

    /** Shown by {@code --help}. */
    public static final String USAGE = """
            usage: LabelCorpus --input CSV|PARQUET|DIR --output DIR --labels "a,b,c"
                               [--input-format csv|parquet|images] [--partitions N]
                               [--model DIR|builtin:NAME] [--pipeline NAME] [--preset NAME]
                               [--backend auto|cpu|tensorrt] [--size 512] [--window N --stride M]
                               [--templates imagenet80|maskclip85|single|FILE]
                               [--key-smoothing T] [--prompt-denoising T]
                               [--threads N] [--cache-dir DIR] [--no-text-cache] [--max-pixels N]
            --input: a CSV with a header and a 'path' column, a Parquet table with a string 'path' column,
            or a directory of images (png, jpg, jpeg, bmp, gif; not recursive). Paths are local files or
            Hadoop URIs (hdfs://, s3a://, ...); relative local paths are resolved against the driver's
            working directory. Writes DIR/labels/<stem>.labels.png per image (as 'ovseg segment') and the
            table DIR/results.parquet: path, stem, width, height, labels, pixel_fractions, mean_scores,
            timings (ms), backend, error (null when fine), output. An image that fails is a row with its
            error, never a failed job. The model options are those of 'ovseg segment'.""";

    /**
     * @throws OvsegException with a one-line reason for a missing, unknown or out-of-range option
     */
    public static LabelJob parse(String[] argv) {
        Map<String, String> v = new LinkedHashMap<>();
        Set<String> flags = new java.util.HashSet<>();
        for (int i = 0; i < argv.length; i++) {
            String s = argv[i];
            if (!s.startsWith("--") || s.length() == 2) throw new OvsegException("unexpected argument '" + s + "'");
            String name = s.substring(2), value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (FLAGS.contains(name)) {
                if (value != null) throw new OvsegException("option --" + name + " takes no value");
                flags.add(name);
            } else if (VALUED.contains(name)) {
                if (value == null) {
                    if (i + 1 >= argv.length) throw new OvsegException("option --" + name + " needs a value");
                    value = argv[++i];
                }
                if (v.put(name, value) != null) throw new OvsegException("option --" + name + " given more than once");
            } else {
                throw new OvsegException("unknown option --" + name);
            }
        }
        String input = require(v, "input"), output = require(v, "output");
        List<String> labels = new ArrayList<>(Labels.parse(require(v, "labels")).names());
        CorpusInput.Format format = v.containsKey("input-format") ? CorpusInput.Format.parse(v.get("input-format")) : null;
        Backend backend = switch (v.getOrDefault("backend", "auto").toLowerCase(Locale.ROOT)) {
            case "auto" -> Backend.AUTO;
            case "cpu" -> Backend.CPU;
            case "tensorrt", "trt", "gpu" -> Backend.TENSORRT;
            default -> throw new OvsegException("--backend must be auto, cpu or tensorrt, got '" + v.get("backend") + "'");
        };
        int window = (int) number(v, "window", 0, 0, 8192), stride = (int) number(v, "stride", window / 2, 0, 8192);
        if (window > 0 && (stride <= 0 || stride > window)) throw new OvsegException("--stride must be between 1 and --window");
        if (v.containsKey("stride") && window == 0) throw new OvsegException("--stride needs --window");
        Integer size = v.containsKey("size") ? (int) number(v, "size", 512, 16, 8192) : null;
        if (size != null) SizePolicy.shortSide(size);
        String pipeline = v.get("pipeline") == null ? null : v.get("pipeline").toLowerCase(Locale.ROOT);
        SegmenterSpec spec = new SegmenterSpec(absolute(v.get("model")), pipeline, backend, size, window, stride, v.get("templates"),
                decimal(v, "key-smoothing"), decimal(v, "prompt-denoising"), v.get("preset") == null ? null : v.get("preset").toLowerCase(Locale.ROOT),
                (int) number(v, "threads", 0, 0, 1024), absolute(v.get("cache-dir")), !flags.contains("no-text-cache"),
                number(v, "max-pixels", ImageDecoder.DEFAULT_MAX_PIXELS, 1, Long.MAX_VALUE));
        int partitions = (int) number(v, "partitions", 0, 1, 1_000_000);
        return new LabelJob(input, format, output, List.copyOf(labels), spec, partitions);
    }

    /** Executors resolve paths against their own working directory: fix them against the driver's now. */
    private static String absolute(String path) {
        if (path == null || path.startsWith("builtin:")) return path;
        return java.nio.file.Path.of(path).toAbsolutePath().normalize().toString();
    }

    private static String require(Map<String, String> v, String name) {
        String s = v.get(name);
        if (s == null) throw new OvsegException("missing required option --" + name);
        return s;
    }

    private static long number(Map<String, String> v, String name, long fallback, long min, long max) {
        String s = v.get(name);
        if (s == null) return fallback;
        try {
            long x = Long.parseLong(s.trim());
            if (x < min || x > max) throw new OvsegException("--" + name + " must be between " + min + " and " + max + ", got " + x);
            return x;
        } catch (NumberFormatException e) {
            throw new OvsegException("--" + name + " must be an integer, got '" + s + "'");
        }
    }

    private static Float decimal(Map<String, String> v, String name) {
        String s = v.get(name);
        if (s == null) return null;
        try {
            float f = Float.parseFloat(s);
            if (!(f >= 0)) throw new OvsegException("--" + name + " must be >= 0, got " + s);
            return f;
        } catch (NumberFormatException e) {
            throw new OvsegException("--" + name + " must be a number, got '" + s + "'");
        }
    }
}
