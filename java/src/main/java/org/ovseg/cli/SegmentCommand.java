package org.ovseg.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.ovseg.OvsegException;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.bundle.Npy;
import org.ovseg.engine.Backend;
import org.ovseg.io.AtomicFiles;
import org.ovseg.image.ImageWriters;
import org.ovseg.image.RgbImage;

/**
 * {@code ovseg segment}: per image, writes {@code <stem>.labels.png} (8-bit label indices, 255
 * unassigned), {@code <stem>.overlay.png} and {@code <stem>.json}. Every argument is checked
 * before the model loads; an image that fails leaves none of its files behind.
 */
final class SegmentCommand implements Main.Command {
    private static final Set<String> VALUED = Set.of("image", "labels", "model", "backend", "size", "out", "templates",
            "window", "stride", "save-logits", "key-smoothing", "prompt-denoising", "threads", "cache-dir", "max-pixels", "preset", "stuff",
            "pipeline", "sam", "sam-points");
    private static final Set<String> FLAGS = Set.of("no-text-cache", "refer");

    @Override
    public String summary() {
        return "segment images into any labels: label map, overlay and JSON per image";
    }

    static final String USAGE = """
            usage: ovseg segment --image IN [--image IN2 ...] --labels "a,b,c" --out DIR
                                 [--model DIR|builtin:colour-world|builtin:colour-world-car] [--pipeline maskclip|car]
                                 [--backend auto|cpu|tensorrt] [--size 512]
                                 [--templates imagenet80|maskclip85|single|FILE] [--window N --stride M]
                                 [--key-smoothing T] [--prompt-denoising T] [--save-logits FILE.npy|DIR]
                                 [--threads N] [--cache-dir DIR] [--no-text-cache] [--max-pixels N]
                                 [--preset voc|context|coco-stuff]   (MaskCLIP bundles: official test settings)
                                 [--preset voc|coco-object|context|ade] [--refer] [--stuff "x,y"]   (CaR bundles;
                                 --refer: the labels are sentences describing one object -> one mask;
                                 --stuff: a second pass for stuff classes, indices after --labels)
                                 [--sam DIR [--sam-points 64]]   (CaR bundles: merge each mask with the
                                 automatic masks of a SAM bundle from tools/export/export_sam.py)
            Writes DIR/<stem>.labels.png (pixel = 0-based label index, 255 = unassigned),
            DIR/<stem>.overlay.png and DIR/<stem>.json for each image.""";

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        if (Main.wantsHelp(argv)) {
            out.println(USAGE);
            return 0;
        }
        Args a = Args.parse(argv, 1, VALUED, FLAGS);
        if (!a.positional().isEmpty()) throw new UsageException("unexpected argument '" + a.positional().get(0) + "' (images go after --image)");
        List<Path> images = new ArrayList<>();
        for (String s : a.all("image")) images.add(Path.of(s));
        if (images.isEmpty()) throw new UsageException("missing required option --image");
        Labels labels = Labels.parse(a.require("labels"));
        Labels stuff = a.get("stuff", null) == null ? null : Labels.parse(a.get("stuff", null));
        if (stuff != null && a.flag("refer")) throw new UsageException("--stuff and --refer do not combine");
        Path outDir = Path.of(a.require("out"));
        Backend backend = switch (a.get("backend", "auto").toLowerCase(Locale.ROOT)) {
            case "auto" -> Backend.AUTO;
            case "cpu" -> Backend.CPU;
            case "tensorrt", "trt", "gpu" -> Backend.TENSORRT;
            default -> throw new UsageException("--backend must be auto, cpu or tensorrt, got '" + a.get("backend", "") + "'");
        };
        int window = a.intValue("window", 0, 0, 8192), stride = a.intValue("stride", window / 2, 0, 8192);
        if (window > 0 && (stride <= 0 || stride > window)) throw new UsageException("--stride must be between 1 and --window");
        if (a.get("stride", null) != null && window == 0) throw new UsageException("--stride needs --window");

        // Everything that can be checked without the model, before the model loads.
        Map<String, Path> stems = new HashMap<>();
        for (Path img : images) {
            if (!Files.exists(img)) throw new OvsegException("image not found: " + img);
            if (!Files.isRegularFile(img) || !Files.isReadable(img)) throw new OvsegException("image is not a readable file: " + img);
            Path prev = stems.put(stem(img), img);
            if (prev != null) throw new UsageException("images " + prev + " and " + img + " would write the same outputs (same file stem)");
        }
        prepareOutputDir(outDir);
        Path logitsTarget = a.get("save-logits", null) == null ? null : Path.of(a.get("save-logits", null));
        if (logitsTarget != null && images.size() > 1 && !Files.isDirectory(logitsTarget)) {
            throw new UsageException("--save-logits with several images must name an existing directory");
        }

        Segmenter.Builder b = Segmenter.builder().backend(backend)
                .slidingWindow(window, window == 0 ? 0 : stride).keepLogits(logitsTarget != null).diskTextCache(!a.flag("no-text-cache"));
        if (a.get("model", null) != null) b.model(a.get("model", null));
        if (a.get("pipeline", null) != null) {
            try {
                b.pipeline(a.get("pipeline", null));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--pipeline: " + e.getMessage());
            }
        }
        if (a.get("size", null) != null) b.size(a.intValue("size", 512, 16, 8192));
        if (a.get("templates", null) != null) b.templates(a.get("templates", null));
        if (a.get("key-smoothing", null) != null) b.keySmoothing(floatValue(a, "key-smoothing"));
        if (a.get("prompt-denoising", null) != null) b.promptDenoising(floatValue(a, "prompt-denoising"));
        if (a.get("threads", null) != null) b.threads(a.intValue("threads", 0, 0, 1024));
        if (a.get("cache-dir", null) != null) b.cacheDir(Path.of(a.get("cache-dir", null)));
        if (a.get("preset", null) != null) b.carPreset(a.get("preset", null));
        if (a.get("max-pixels", null) != null) b.maxPixels(Long.parseLong(a.get("max-pixels", null)));
        if (a.get("sam-points", null) != null && a.get("sam", null) == null) throw new UsageException("--sam-points needs --sam DIR");
        if (a.get("sam", null) != null) {
            b.samBundle(Path.of(a.get("sam", null)));
            if (a.get("sam-points", null) != null) {
                b.samOptions(org.ovseg.pipeline.sam.SamOptions.CAR.withPointsPerSide(a.intValue("sam-points", 64, 1, 1024)));
            }
        }

        int failures = 0;
        try (Segmenter seg = b.build()) {
            seg.validate(labels);
            for (Path img : images) {
                try {
                    RgbImage image = seg.readImage(img);
                    SegmentationResult r = a.flag("refer") ? seg.refer(image, labels)
                            : stuff != null ? seg.segmentWithStuff(image, labels, stuff) : seg.segment(image, labels);
                    String stem = stem(img);
                    Path logits = logitsTarget == null ? null : images.size() > 1 ? logitsTarget.resolve(stem + ".logits.npy") : logitsTarget;
                    writeOutputs(outDir, stem, img, image, r, seg, logits);
                    out.printf(Locale.ROOT, "%s: %dx%d, %s%n", img, r.width(), r.height(), summary(r));
                } catch (OvsegException | IOException e) {
                    if (images.size() == 1) throw e;
                    err.println("error: " + Main.oneLine(e.getMessage()));
                    failures++;
                }
            }
        }
        return failures == 0 ? 0 : 2;
    }

    private static float floatValue(Args a, String name) {
        try {
            return Float.parseFloat(a.get(name, null));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + a.get(name, null) + "'");
        }
    }

    static String stem(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    private static void prepareOutputDir(Path dir) {
        try {
            if (Files.exists(dir) && !Files.isDirectory(dir)) throw new OvsegException("output path exists and is not a directory: " + dir);
            Files.createDirectories(dir);
            Path probe = Files.createTempFile(dir, ".ovseg-write-check", ".tmp");
            Files.delete(probe);
        } catch (IOException e) {
            throw new OvsegException("output directory is not writable: " + dir + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static String summary(SegmentationResult r) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < r.labels().size(); i++) {
            double f = r.pixelFraction(i);
            if (f > 0) s.append(s.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s %.1f%%", r.labels().get(i), 100 * f));
        }
        return s.length() == 0 ? "no label assigned" : s.toString();
    }

    /** All files of one image are encoded in memory first, then renamed into place. */
    private static void writeOutputs(Path dir, String stem, Path source, RgbImage image, SegmentationResult r, Segmenter seg, Path logitsFile)
            throws IOException {
        byte[] labelsPng = ImageWriters.labelsPng(r.width(), r.height(), r.labelMap());
        byte[] overlayPng = ImageWriters.overlayPng(image, r.labelMap(), r.labels());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("image", source.toString());
        json.put("width", r.width());
        json.put("height", r.height());
        json.put("pipeline", r.pipeline());
        json.put("model", seg.modelInfo());
        json.put("backend", r.backend());
        List<Map<String, Object>> ls = new ArrayList<>();
        for (int i = 0; i < r.labels().size(); i++) {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("index", i);
            l.put("label", r.labels().get(i));
            l.put("pixel_fraction", r.pixelFraction(i));
            double ms = r.meanScore(i);
            l.put("mean_score", Double.isNaN(ms) ? null : ms);
            ls.add(l);
        }
        json.put("labels", ls);
        json.put("unassigned_value", SegmentationResult.UNASSIGNED);
        json.put("timings_ms", r.timingsMs());
        if (!r.steps().isEmpty()) json.put("steps", r.steps());
        byte[] jsonBytes = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json);
        List<Path> written = new ArrayList<>();
        try {
            write(dir.resolve(stem + ".labels.png"), labelsPng, written);
            write(dir.resolve(stem + ".overlay.png"), overlayPng, written);
            if (logitsFile != null) {
                float[] logits = r.logits().orElseThrow(() -> new OvsegException("--save-logits: the " + r.pipeline() + " pipeline keeps no logits"));
                // [K, H, W]; for CaR K is the number of surviving queries (the last step's order), not the label count
                int planes = logits.length / Math.max(1, r.height() * r.width());
                AtomicFiles.write(logitsFile, p -> {
                    try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(p), 1 << 20)) {
                        Npy.writeFloats(os, logits, planes, r.height(), r.width());
                    }
                });
                written.add(logitsFile);
            }
            write(dir.resolve(stem + ".json"), jsonBytes, written);
        } catch (IOException | RuntimeException e) {
            for (Path p : written) Files.deleteIfExists(p); // nothing half-written for this image
            throw e;
        }
    }

    private static void write(Path target, byte[] bytes, List<Path> written) throws IOException {
        AtomicFiles.write(target, bytes);
        written.add(target);
    }
}
