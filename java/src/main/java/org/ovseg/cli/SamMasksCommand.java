package org.ovseg.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.ovseg.OvsegException;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.Npy;
import org.ovseg.engine.Backend;
import org.ovseg.engine.EngineOptions;
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.RgbImage;
import org.ovseg.io.AtomicFiles;
import org.ovseg.pipeline.sam.SamAutomaticMasks;
import org.ovseg.pipeline.sam.SamMask;
import org.ovseg.pipeline.sam.SamOptions;

/**
 * {@code ovseg sam-masks}: SAM's automatic masks of images, with a "sam" bundle. Per image writes
 * {@code <stem>.sam.npy} (uint8 [M, H, W], 1 = in the mask, NMS order) and {@code <stem>.sam.json}
 * (per mask: predicted IoU, stability score, XYXY box, prompt point, area; settings, timings).
 */
final class SamMasksCommand implements Main.Command {
    private static final Set<String> VALUED = Set.of("model", "image", "out", "points-per-side", "points-per-batch", "pred-iou-thresh",
            "stability-thresh", "stability-offset", "nms", "backend", "threads", "max-pixels");

    static final String USAGE = """
            usage: ovseg sam-masks --model SAM_BUNDLE --image IN [--image IN2 ...] --out DIR
                                   [--points-per-side 32] [--points-per-batch 64] [--pred-iou-thresh 0.88]
                                   [--stability-thresh 0.95] [--stability-offset 1.0] [--nms 0.7]
                                   [--backend auto|cpu|tensorrt] [--threads N] [--max-pixels N]
            SAM's automatic masks (segment-anything's SamAutomaticMaskGenerator, one crop; defaults are its own).
            Writes DIR/<stem>.sam.npy (uint8 [masks, H, W]) and DIR/<stem>.sam.json for each image.""";

    @Override
    public String summary() {
        return "SAM automatic masks of images (a bundle from tools/export/export_sam.py)";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        if (Main.wantsHelp(argv)) {
            out.println(USAGE);
            return 0;
        }
        Args a = Args.parse(argv, 1, VALUED, Set.of());
        if (!a.positional().isEmpty()) throw new UsageException("unexpected argument '" + a.positional().get(0) + "'");
        Path model = Path.of(a.require("model"));
        Path outDir = Path.of(a.require("out"));
        List<String> images = a.all("image");
        if (images.isEmpty()) throw new UsageException("missing required option --image");
        SamOptions d = SamOptions.DEFAULTS;
        SamOptions opts;
        try {
            opts = new SamOptions(a.intValue("points-per-side", d.pointsPerSide(), 1, 1024), a.intValue("points-per-batch", d.pointsPerBatch(), 1, 4096),
                    number(a, "pred-iou-thresh", d.predIouThreshold()), number(a, "stability-thresh", d.stabilityScoreThreshold()),
                    number(a, "stability-offset", d.stabilityScoreOffset()), number(a, "nms", d.boxNmsThreshold()));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Backend backend;
        try {
            backend = Backend.valueOf(a.get("backend", "auto").toUpperCase(Locale.ROOT).replace("ONNXRUNTIME", "CPU"));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--backend must be auto, cpu or tensorrt");
        }
        EngineOptions.Builder eo = EngineOptions.builder().backend(backend);
        if (a.get("threads", null) != null) eo.intraOpThreads(a.intValue("threads", 0, 0, 1024));
        ImageDecoder decoder = new ImageDecoder(a.get("max-pixels", null) == null ? ImageDecoder.DEFAULT_MAX_PIXELS
                : Long.parseLong(a.get("max-pixels", null)));
        Files.createDirectories(outDir);
        ModelBundle bundle = BundleLoader.load(model);
        try (SamAutomaticMasks sam = SamAutomaticMasks.open(bundle, eo.build(), opts)) {
            for (String file : images) {
                Path img = Path.of(file);
                if (!Files.isRegularFile(img)) throw new OvsegException("image not found: " + img);
                RgbImage image = decoder.decode(img);
                long t0 = System.nanoTime();
                List<SamMask> masks = sam.generate(image);
                double ms = (System.nanoTime() - t0) / 1e6;
                String stem = SegmentCommand.stem(img);
                int H = image.height(), W = image.width();
                List<Map<String, Object>> rows = new ArrayList<>();
                for (SamMask s : masks) {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("predicted_iou", (double) s.predictedIou());
                    r.put("stability_score", (double) s.stabilityScore());
                    r.put("box_xyxy", s.box());
                    r.put("point", new double[] {s.pointX(), s.pointY()});
                    r.put("area", s.area());
                    rows.add(r);
                }
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("image", img.toString());
                json.put("width", W);
                json.put("height", H);
                json.put("options", opts);
                json.put("masks", rows);
                json.put("time_ms", ms);
                AtomicFiles.write(outDir.resolve(stem + ".sam.npy"), p -> {
                    try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(p), 1 << 20)) {
                        // Streamed one mask at a time: masks × H × W may exceed an array's 2^31 bytes.
                        Npy.writeHeader(os, "|u1", masks.size(), H, W);
                        byte[] plane = new byte[H * W];
                        for (SamMask s : masks) {
                            for (int q = 0; q < plane.length; q++) plane[q] = (byte) ((s.bits()[q >>> 6] >>> (q & 63)) & 1L);
                            os.write(plane);
                        }
                    }
                });
                AtomicFiles.write(outDir.resolve(stem + ".sam.json"), new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json));
                out.printf(Locale.ROOT, "%s: %dx%d, %d masks (%.0f ms)%n", img, W, H, masks.size(), ms);
            }
        }
        return 0;
    }

    static double number(Args a, String name, double fallback) {
        String v = a.get(name, null);
        if (v == null) return fallback;
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + v + "'");
        }
    }
}
