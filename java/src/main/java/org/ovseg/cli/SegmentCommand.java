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
import org.ovseg.image.ImageWriters;
import org.ovseg.image.RgbImage;
import org.ovseg.io.AtomicFiles;

/**
 * {@code ovseg segment}: per image, writes {@code <stem>.labels.png}, {@code
 * <stem>.panoptic.png}, {@code <stem>.overlay.png} and {@code <stem>.json} (schema: {@link
 * ResultJson}). Every argument is checked before the model loads. An image that fails is
 * reported on one line and the others go on; its files are written under temporary names and
 * renamed only when all are complete, so a failure leaves the previous run's outputs in place.
 */
final class SegmentCommand implements Main.Command {
    private static final Set<String> VALUED = SegmenterOptions.union(SegmenterOptions.VALUED,
            Set.of("image", "images-from", "labels", "out", "save-logits", "stuff"));
    private static final Set<String> FLAGS = SegmenterOptions.union(SegmenterOptions.FLAGS, Set.of("refer", "instances"));

    @Override
    public String summary() {
        return "segment images into any labels: label map, panoptic map, overlay and JSON per image";
    }

    static final String USAGE = """
            usage: ovseg segment --image IN [--image IN2 ...] [--images-from LIST] --labels "a,b,c" --out DIR
                                 [--model DIR|builtin:NAME] [--pipeline NAME] [--preset NAME]
                                 [--backend auto|cpu|tensorrt] [--precision fp32|fp16|int8]
                                 [--size 512] [--window N --stride M]
                                 [--templates imagenet80|maskclip85|single|FILE]
                                 [--key-smoothing T] [--prompt-denoising T] [--save-logits FILE.npy|DIR]
                                 [--method maskclip|sclip|clearclip|naclip|proxyclip] [--pamr]
                                 [--threads N] [--cache-dir DIR] [--no-text-cache] [--max-pixels N]
                                 [--stuff "x,y"] [--refer] [--instances]
                                 [--sam DIR [--sam-points 64]] [--gradcam-memory BYTES]
            IN is an image file, a directory (its png/jpg/jpeg/bmp/gif files) or a glob ('photos/*.jpg');
            LIST is a text file with one image path per line.
            --labels may be left out when --preset ships its official class list (CaR: voc, coco-object;
            context and ade bring their things and their stuff lists, the stuff pass included).
            --precision int8: the image encoder's int8 variant (export_clip.py --int8); fp16 applies to TensorRT only.
            --stuff: stuff classes (indices follow --labels; CaR runs its second pass for them).
            --refer: the labels are referring sentences (pipelines that can: see 'ovseg models'); CaR reads them as one object -> one mask,
                     X-Decoder gives one mask per sentence (label i = sentence i).
            --instances: add each segment's mask to the JSON as COCO RLE, and a top-level "instances" array
                         (scored, possibly overlapping masks; X-Decoder only, empty for the others).
            --gradcam-memory: bytes one Grad-CAM backward may take (CaR; default 1 GiB, 0 = no limit).
            --sam: merge CaR masks with the automatic masks of a SAM bundle (tools/export/export_sam.py).
            Options a pipeline does not take are an error. Writes DIR/<stem>.labels.png (label index; 8-bit
            with 255 = unassigned up to 255 labels, else 16-bit with 65535), DIR/<stem>.panoptic.png (COCO
            panoptic ids), DIR/<stem>.overlay.png and DIR/<stem>.json for each image.""";

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        if (Main.wantsHelp(argv)) {
            out.println(USAGE);
            return 0;
        }
        Args a = Args.parse(argv, 1, VALUED, FLAGS);
        if (!a.positional().isEmpty()) throw new UsageException("unexpected argument '" + a.positional().get(0) + "' (images go after --image)");
        if (a.all("image").isEmpty() && a.all("images-from").isEmpty()) throw new UsageException("missing required option --image (or --images-from)");
        List<Path> images = ImageInputs.expand(a.all("image"), a.all("images-from"));
        if (images.isEmpty()) throw new UsageException("no images given (--images-from lists none)");
        // Without --labels, a preset that ships its official class list supplies them (known once
        // the model names its pipeline, below).
        if (a.get("labels", null) == null && a.get("preset", null) == null) throw new UsageException("missing required option --labels");
        Labels labels = a.get("labels", null) == null ? null : Labels.parse(a.get("labels", null));
        if (labels == null && a.get("stuff", null) != null) throw new UsageException("--stuff needs --labels");
        Labels stuffGiven = a.get("stuff", null) == null ? null : Labels.parse(a.get("stuff", null));
        if (stuffGiven != null && a.flag("refer")) throw new UsageException("--stuff and --refer do not combine");
        if (stuffGiven != null) {
            List<String> all = new ArrayList<>(labels.names());
            all.addAll(stuffGiven.names());
            Labels.of(all); // a word in both lists, or too many together, fails here, before the model loads
        }
        Path outDir = Path.of(a.require("out"));
        SegmenterOptions.check(a);

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

        Segmenter.Builder b = SegmenterOptions.builder(a);
        if (logitsTarget != null) b.keepLogits(true);

        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        boolean refer = a.flag("refer");
        try (Segmenter seg = b.build()) {
            Labels texts = labels != null ? labels : presetLabels(seg.pipeline(), a.get("preset", null));
            // A preset with a stuff pass (CaR's context, ade) brings its official stuff list too.
            Labels stuff = stuffGiven != null || labels != null || refer ? stuffGiven : presetStuff(seg.pipeline(), a.get("preset", null));
            seg.validate(stuff == null ? texts : Labels.of(concat(texts, stuff)));
            // Decoding the next image and writing the previous one's files overlap the model's
            // work on the current one; files and report lines are those of a serial loop, in order.
            // OVSEG_SEGMENT_SERIAL=1 runs the stages one after another instead, for comparisons.
            Overlapped.Stage<RgbImage, Segmented> model = image -> new Segmented(image,
                    refer ? seg.refer(image, texts) : stuff != null ? seg.segmentWithStuff(image, texts, stuff) : seg.segment(image, texts));
            Overlapped.Finish<Path, Segmented> finish = (img, done, failure) -> {
                try {
                    if (failure != null) throw failure;
                    String stem = stem(img);
                    Path logits = logitsTarget == null ? null : images.size() > 1 ? logitsTarget.resolve(stem + ".logits.npy") : logitsTarget;
                    writeOutputs(outDir, stem, img, done.image(), done.result(), seg, logits, refer ? "refer" : "segment",
                            stuff == null ? 0 : stuff.size(), a.flag("instances"));
                    out.printf(Locale.ROOT, "%s: %dx%d, %s%n", img, done.result().width(), done.result().height(), summary(done.result()));
                } catch (IOException | RuntimeException e) {
                    err.println("error: " + img + ": " + Main.oneLine(describe(e)));
                    failed.incrementAndGet();
                } catch (OutOfMemoryError e) {
                    err.println("error: " + img + ": out of memory (" + Main.oneLine(e.getMessage()) + "); try a smaller --size or --max-pixels");
                    failed.incrementAndGet();
                } catch (Throwable e) {
                    err.println("error: " + img + ": " + Main.oneLine(describe(e instanceof Exception ex ? ex : new RuntimeException(e))));
                    failed.incrementAndGet();
                }
            };
            if ("1".equals(System.getenv("OVSEG_SEGMENT_SERIAL"))) Overlapped.serial(images, seg::readImage, model, finish);
            else Overlapped.run(images, seg::readImage, model, finish, 1, 2);
        }
        int failures = failed.get();
        if (failures > 0 && images.size() > 1) err.printf(Locale.ROOT, "error: %d of %d images failed%n", failures, images.size());
        return failures == 0 ? 0 : 2;
    }

    private static Labels presetStuff(String pipeline, String preset) {
        return org.ovseg.pipeline.PipelineRegistry.get(pipeline).presetStuff(preset.toLowerCase(Locale.ROOT)).map(Labels::of).orElse(null);
    }

    private static Labels presetLabels(String pipeline, String preset) {
        List<String> names = org.ovseg.pipeline.PipelineRegistry.get(pipeline).presetLabels(preset.toLowerCase(Locale.ROOT))
                .orElseThrow(() -> new UsageException("missing required option --labels (the '" + pipeline + "' pipeline's preset '" + preset
                        + "' has no class list of its own)"));
        return Labels.of(names);
    }

    /** One image and its segmentation, on their way to the writer. */
    private record Segmented(RgbImage image, SegmentationResult result) {}

    private static List<String> concat(Labels a, Labels b) {
        List<String> all = new ArrayList<>(a.names());
        all.addAll(b.names());
        return all;
    }

    /** OvsegExceptions carry a user-facing message; anything else is named by its type too. */
    private static String describe(Exception e) {
        if (e instanceof OvsegException || e instanceof IOException) {
            String m = e.getMessage();
            return e instanceof IOException ? "cannot write outputs: " + m : m;
        }
        return "internal failure: " + e;
    }

    static String stem(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    static void prepareOutputDir(Path dir) {
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
        int shown = 0, more = 0;
        for (int i = 0; i < r.labels().size(); i++) {
            double f = r.pixelFraction(i);
            if (f <= 0) continue;
            if (shown++ < 20) s.append(s.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s %.1f%%", r.labels().get(i), 100 * f));
            else more++;
        }
        if (more > 0) s.append(String.format(Locale.ROOT, " (+%d more labels)", more));
        return s.length() == 0 ? "no label assigned" : s.toString();
    }

    /** Encodes every file of one image in memory, then writes them all under temporary names and renames them. */
    private static void writeOutputs(Path dir, String stem, Path source, RgbImage image, SegmentationResult r, Segmenter seg, Path logitsFile,
            String request, int stuffCount, boolean instances) throws IOException {
        int[] map = r.labelMap();
        byte[] labelsPng = ImageWriters.labelsPng(r.width(), r.height(), map, r.labels().size());
        byte[] panopticPng = ImageWriters.panopticPng(r.width(), r.height(), r.panopticIds());
        byte[] overlayPng = ImageWriters.overlayPng(image, map, r.labels());
        Map<String, String> files = new LinkedHashMap<>();
        files.put("labels", stem + ".labels.png");
        files.put("panoptic", stem + ".panoptic.png");
        files.put("overlay", stem + ".overlay.png");
        if (logitsFile != null) files.put("logits", logitsFile.toString());
        Map<String, Object> json = ResultJson.build(source, r, seg.modelInfo(), request, r.labels().size() - stuffCount, files, instances);
        byte[] jsonBytes = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json);
        Map<Path, AtomicFiles.Writer> writes = new LinkedHashMap<>();
        writes.put(dir.resolve(stem + ".labels.png"), p -> Files.write(p, labelsPng));
        writes.put(dir.resolve(stem + ".panoptic.png"), p -> Files.write(p, panopticPng));
        writes.put(dir.resolve(stem + ".overlay.png"), p -> Files.write(p, overlayPng));
        if (logitsFile != null) {
            float[] logits = r.logits().orElseThrow(() -> new OvsegException("--save-logits: the " + r.pipeline() + " pipeline keeps no logits"));
            // [K, H, W]; for CaR K is the number of surviving queries (the last step's order), not the label count
            int planes = logits.length / Math.max(1, r.height() * r.width());
            writes.put(logitsFile, p -> {
                try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(p), 1 << 20)) {
                    Npy.writeFloats(os, logits, planes, r.height(), r.width());
                }
            });
        }
        writes.put(dir.resolve(stem + ".json"), p -> Files.write(p, jsonBytes));
        AtomicFiles.writeAll(writes);
    }
}
