package org.ovseg.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.ovseg.OvsegException;
import org.ovseg.api.Labels;
import org.ovseg.api.Segment;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.eval.EvalDataset;
import org.ovseg.eval.MaskPngs;
import org.ovseg.eval.PanopticCategory;
import org.ovseg.eval.PanopticImage;
import org.ovseg.eval.PanopticQuality;
import org.ovseg.eval.PanopticSegment;
import org.ovseg.eval.ResultLog;
import org.ovseg.eval.SemanticCounts;
import org.ovseg.image.ImageWriters;
import org.ovseg.image.RgbImage;
import org.ovseg.io.AtomicFiles;

/**
 * {@code ovseg eval}: segments every image of a labelled set and scores the predictions, mIoU
 * the way mmsegmentation computes it, PQ the way the COCO panoptic API does. Per-image results
 * are appended to {@code OUT/per-image.jsonl} as each image finishes and the metrics are always
 * reduced from that file in the dataset's order, so a rerun after an interruption skips the
 * images already scored and ends with the same metrics as one uninterrupted run.
 */
final class EvalCommand implements Main.Command {
    private static final Set<String> VALUED = SegmenterOptions.union(SegmenterOptions.VALUED,
            Set.of("images", "masks", "labels", "ignore-index", "dataset", "root", "split", "out"));
    private static final Set<String> FLAGS = SegmenterOptions.union(SegmenterOptions.FLAGS, Set.of("reduce-zero-label"));
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String RECORDS = "per-image.jsonl", CONFIG = "eval-config.json", METRICS = "metrics.json";

    static final String USAGE = """
            usage: ovseg eval --images DIR --masks DIR --labels "a,b,c" --out DIR [--ignore-index 255] [--reduce-zero-label]
                   ovseg eval --dataset voc|context|ade|coco-stuff|cityscapes|coco-panoptic --root DIR [--split val]
                              [--labels "prompt,..."] --out DIR
            """ + SegmenterOptions.USAGE.indent(18) + """
            --masks: PNGs whose value is the class index (8- or 16-bit grayscale, or a palette PNG's index),
                     named like the images (same file stem); --labels names the classes in index order.
            --dataset: a benchmark in mmsegmentation's layout (COCO panoptic's for coco-panoptic, scored by PQ)
                     with its class list and conventions; --labels then replaces the class names given to the
                     model (same count, same order).
            --ignore-index: ground-truth value left out of the scores (default 255).
            --reduce-zero-label: ground-truth 0 is ignored and every other value lowered by 1 (set for ade, context).
            Writes OUT/metrics.json, OUT/per-image.jsonl (kept: a rerun skips the images scored already) and the
            predictions: OUT/predictions/<stem>.png (class index, unassigned 255 or 65535) or, for PQ,
            OUT/panoptic/<stem>.png (COCO panoptic ids).""";

    @Override
    public String summary() {
        return "score a model on a labelled dataset: mIoU (mmsegmentation) or PQ (COCO panoptic), resumable";
    }

    /** What is being evaluated: the dataset with its conventions, and the prompts given for its classes. */
    private record Setup(EvalDataset dataset, Labels prompts, int ignoreIndex, boolean reduceZeroLabel) {}

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        if (Main.wantsHelp(argv)) {
            out.println(USAGE);
            return 0;
        }
        Args a = Args.parse(argv, 1, VALUED, FLAGS);
        if (!a.positional().isEmpty()) throw new UsageException("unexpected argument '" + a.positional().get(0) + "'");
        Setup setup = setup(a);
        Path outDir = Path.of(a.require("out"));
        SegmenterOptions.check(a);
        SegmentCommand.prepareOutputDir(outDir);
        checkConfig(outDir, config(a, setup));

        EvalDataset ds = setup.dataset();
        int failures = 0;
        try (ResultLog log = new ResultLog(outDir.resolve(RECORDS))) {
            List<EvalDataset.Sample> todo = ds.samples().stream().filter(s -> log.get(s.key()) == null).toList();
            int before = ds.samples().size() - todo.size();
            if (before > 0) err.printf(Locale.ROOT, "eval: %d of %d images already scored in %s; scoring the other %d%n", before, ds.samples().size(), outDir, todo.size());
            if (!todo.isEmpty()) failures = score(a, setup, todo, outDir, log, before, err);
            if (failures > 0) {
                err.printf(Locale.ROOT, "error: %d of %d images failed; no metrics written (rerun to retry them: the %d scored are kept)%n", failures,
                        ds.samples().size(), log.size());
                return 2;
            }
            ObjectNode metrics = ds.panoptic() ? panopticMetrics(setup, log, out) : semanticMetrics(setup, log, out);
            byte[] bytes = JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(metrics);
            AtomicFiles.write(outDir.resolve(METRICS), p -> Files.write(p, bytes));
            out.println("metrics: " + outDir.resolve(METRICS));
        }
        return 0;
    }

    /** The dataset and its conventions from the command line; everything is checked before any model loads. */
    private static Setup setup(Args a) {
        EvalDataset ds;
        String dataset = a.get("dataset", null);
        if (dataset != null) {
            if (a.get("images", null) != null || a.get("masks", null) != null) throw new UsageException("--dataset and --images/--masks do not combine");
            ds = EvalDataset.named(dataset, Path.of(a.require("root")), a.get("split", "val"));
        } else {
            if (a.get("root", null) != null || a.get("split", null) != null) throw new UsageException("--root and --split go with --dataset");
            if (a.get("images", null) == null) throw new UsageException("missing required option --images (or --dataset)");
            Labels classes = Labels.parse(a.require("labels"));
            ds = EvalDataset.folders(Path.of(a.get("images", null)), Path.of(a.require("masks")), classes.names());
        }
        Labels prompts = Labels.of(ds.classes());
        if (dataset != null && a.get("labels", null) != null) {
            prompts = Labels.parse(a.get("labels", null));
            if (prompts.size() != ds.classes().size()) {
                throw new UsageException("--labels gives " + prompts.size() + " names for the " + ds.classes().size() + " classes of " + ds.name());
            }
        }
        if (ds.panoptic() && (a.get("ignore-index", null) != null || a.flag("reduce-zero-label"))) {
            throw new UsageException("--ignore-index and --reduce-zero-label do not apply to coco-panoptic (void is id 0, crowd regions are marked)");
        }
        int ignore = a.intValue("ignore-index", 255, 0, 65535);
        return new Setup(ds, prompts, ignore, a.flag("reduce-zero-label") || ds.reduceZeroLabel());
    }

    private static ObjectNode config(Args a, Setup s) {
        ObjectNode c = JSON.createObjectNode();
        c.put("format_version", 1);
        c.put("dataset", s.dataset().name());
        c.put("root", a.get("root", null) == null ? null : Path.of(a.get("root", null)).toAbsolutePath().normalize().toString());
        c.put("split", a.get("split", "val"));
        c.put("images", a.get("images", null) == null ? null : Path.of(a.get("images", null)).toAbsolutePath().normalize().toString());
        c.put("masks", a.get("masks", null) == null ? null : Path.of(a.get("masks", null)).toAbsolutePath().normalize().toString());
        c.set("classes", JSON.valueToTree(s.dataset().classes()));
        c.set("labels", JSON.valueToTree(s.prompts().names()));
        c.put("ignore_index", s.ignoreIndex());
        c.put("reduce_zero_label", s.reduceZeroLabel());
        c.set("model_options", JSON.valueToTree(SegmenterOptions.affectingResults(a)));
        return c;
    }

    /** Kept per-image results are only reused for the same evaluation: same data, conventions, prompts and model options. */
    private static void checkConfig(Path outDir, ObjectNode config) throws IOException {
        Path file = outDir.resolve(CONFIG);
        if (Files.exists(file)) {
            JsonNode old;
            try {
                old = JSON.readTree(file.toFile());
            } catch (IOException e) {
                throw new OvsegException(file + " is unreadable (" + OvsegException.oneLine(e.getMessage()) + "); use another --out");
            }
            if (!config.equals(old)) {
                List<String> differ = new ArrayList<>();
                config.fieldNames().forEachRemaining(f -> {
                    if (!config.get(f).equals(old.get(f))) differ.add(f);
                });
                throw new OvsegException(outDir + " holds results of a different evaluation (" + (differ.isEmpty() ? "format" : String.join(", ", differ))
                        + " differ); use another --out or delete it");
            }
            return;
        }
        byte[] bytes = JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(config);
        AtomicFiles.write(file, p -> Files.write(p, bytes));
    }

    /** Segments and scores the images not scored yet; @return how many failed. */
    private static int score(Args a, Setup setup, List<EvalDataset.Sample> todo, Path outDir, ResultLog log, int before, PrintStream err)
            throws IOException {
        EvalDataset ds = setup.dataset();
        Path predDir = outDir.resolve(ds.panoptic() ? "panoptic" : "predictions");
        Files.createDirectories(predDir);
        Set<Integer> categoryIds = new HashSet<>();
        if (ds.panoptic()) for (PanopticCategory c : ds.categories()) categoryIds.add(c.id());
        int failures = 0;
        Progress progress = new Progress(err, ds.samples().size(), before, System.console() != null, 10_000_000_000L, System::nanoTime);
        try (Segmenter seg = SegmenterOptions.builder(a).build()) {
            seg.validate(setup.prompts());
            for (EvalDataset.Sample s : todo) {
                try {
                    ObjectNode record = ds.panoptic() ? scorePanoptic(seg, setup, s, predDir, categoryIds) : scoreSemantic(seg, setup, s, predDir);
                    log.append(record);
                } catch (OvsegException | IllegalArgumentException | IOException e) {
                    String why = e instanceof IOException ? "cannot write results: " + e.getMessage() : e.getMessage();
                    err.println((System.console() != null ? "\n" : "") + "error: " + s.image() + ": " + Main.oneLine(why));
                    failures++;
                } catch (OutOfMemoryError e) {
                    err.println("error: " + s.image() + ": out of memory (" + Main.oneLine(e.getMessage()) + "); try a smaller --size or --max-pixels");
                    failures++;
                }
                progress.step();
            }
        } finally {
            progress.finish();
        }
        return failures;
    }

    private static ObjectNode scoreSemantic(Segmenter seg, Setup setup, EvalDataset.Sample s, Path predDir) throws IOException {
        RgbImage image = seg.readImage(s.image());
        MaskPngs.Map gt = MaskPngs.classIndices(s.truth());
        checkSize(image, gt, s);
        int[] truth = setup.reduceZeroLabel() ? reduceZeroLabel(gt.values(), gt.bits() == 8 ? 255 : 65535) : gt.values();
        SegmentationResult r = seg.segment(image, setup.prompts());
        int[] pred = r.labelMap();
        int k = setup.prompts().size();
        byte[] png = ImageWriters.labelsPng(r.width(), r.height(), pred, k);
        AtomicFiles.write(predDir.resolve(s.key() + ".png"), p -> Files.write(p, png));
        SemanticCounts c = SemanticCounts.of(pred, truth, k, setup.ignoreIndex());
        ObjectNode rec = JSON.createObjectNode();
        rec.put("key", s.key());
        rec.put("image", s.image().toString());
        rec.put("width", r.width());
        rec.put("height", r.height());
        // Sparse: only the classes this image has in either map, so records of 150- or 171-class sets stay small.
        ArrayNode cls = rec.putArray("classes"), inter = rec.putArray("intersect"), union = rec.putArray("union"),
                predicted = rec.putArray("predicted"), label = rec.putArray("label");
        for (int i = 0; i < k; i++) {
            if (c.union()[i] == 0) continue;
            cls.add(i);
            inter.add(c.intersect()[i]);
            union.add(c.union()[i]);
            predicted.add(c.predicted()[i]);
            label.add(c.label()[i]);
        }
        return rec;
    }

    /**
     * mmsegmentation's reduce_zero_label, done in uint8 arithmetic there: 0 becomes 255, 255 stays
     * 255, every other value v becomes v - 1, whatever the ignore index. 16-bit masks (which
     * mmsegmentation does not read) follow the same rule with 65535 in place of 255.
     */
    static int[] reduceZeroLabel(int[] v, int voidValue) {
        int[] o = new int[v.length];
        for (int i = 0; i < v.length; i++) o[i] = v[i] == 0 || v[i] == voidValue ? voidValue : v[i] - 1;
        return o;
    }

    private static ObjectNode scorePanoptic(Segmenter seg, Setup setup, EvalDataset.Sample s, Path predDir, Set<Integer> categoryIds)
            throws IOException {
        EvalDataset ds = setup.dataset();
        RgbImage image = seg.readImage(s.image());
        MaskPngs.Map gt = MaskPngs.panopticIds(s.truth());
        checkSize(image, gt, s);
        List<PanopticSegment> gtSegs = withAreas(ds.segments().get(s.key()), gt.values());
        SegmentationResult r = seg.segment(image, setup.prompts());
        int[] ids = r.panopticIds();
        List<PanopticSegment> predSegs = new ArrayList<>();
        ArrayNode info = JSON.createArrayNode();
        for (Segment g : r.segments()) {
            int cat = ds.categories().get(g.labelIndex()).id();
            predSegs.add(new PanopticSegment(g.id(), cat, false, g.area()));
            ObjectNode o = info.addObject();
            o.put("id", g.id());
            o.put("category_id", cat);
            o.put("isthing", ds.categories().get(g.labelIndex()).isThing() ? 1 : 0);
            o.put("area", g.area());
        }
        PanopticImage pi = PanopticImage.of(gt.values(), gtSegs, ids, predSegs, categoryIds);
        byte[] png = ImageWriters.panopticPng(r.width(), r.height(), ids);
        AtomicFiles.write(predDir.resolve(s.key() + ".png"), p -> Files.write(p, png));
        ObjectNode rec = JSON.createObjectNode();
        rec.put("key", s.key());
        rec.put("image", s.image().toString());
        rec.put("width", r.width());
        rec.put("height", r.height());
        rec.set("segments_info", info);
        ArrayNode matches = rec.putArray("matches");
        for (PanopticImage.Match m : pi.matches()) matches.addArray().add(m.categoryId()).add(m.intersection()).add(m.union());
        ObjectNode fp = rec.putObject("fp"), fn = rec.putObject("fn");
        pi.falsePositives().forEach((c, n) -> fp.put(Integer.toString(c), n));
        pi.falseNegatives().forEach((c, n) -> fn.put(Integer.toString(c), n));
        return rec;
    }

    /** Segments whose annotation has no area get their pixel count (the COCO API uses the annotated area as given). */
    private static List<PanopticSegment> withAreas(List<PanopticSegment> segs, int[] ids) {
        if (segs.stream().allMatch(g -> g.area() >= 0)) return segs;
        Map<Integer, Long> count = new java.util.HashMap<>();
        for (int id : ids) count.merge(id, 1L, Long::sum);
        return segs.stream().map(g -> g.area() >= 0 ? g : new PanopticSegment(g.id(), g.categoryId(), g.isCrowd(), count.getOrDefault(g.id(), 0L))).toList();
    }

    private static void checkSize(RgbImage image, MaskPngs.Map gt, EvalDataset.Sample s) {
        if (image.width() != gt.width() || image.height() != gt.height()) {
            throw new OvsegException("annotation " + s.truth() + " is " + gt.width() + "x" + gt.height() + ", the image " + image.width() + "x" + image.height());
        }
    }

    private static ObjectNode semanticMetrics(Setup setup, ResultLog log, PrintStream out) {
        EvalDataset ds = setup.dataset();
        int k = ds.classes().size();
        SemanticCounts total = SemanticCounts.zero(k);
        for (EvalDataset.Sample s : ds.samples()) {
            JsonNode r = log.get(s.key());
            total = total.plus(counts(r, k));
        }
        SemanticCounts.SemanticMetrics m = total.metrics();
        ObjectNode j = header(setup);
        ObjectNode sem = j.putObject("semantic");
        number(sem, "aAcc", m.aAcc());
        number(sem, "mIoU", m.mIoU());
        number(sem, "mAcc", m.mAcc());
        sem.put("classes_in_mIoU", m.classesInMIoU());
        ArrayNode per = sem.putArray("per_class");
        for (int c = 0; c < k; c++) {
            ObjectNode o = per.addObject();
            o.put("index", c);
            o.put("class", ds.classes().get(c));
            number(o, "IoU", m.iou()[c]);
            number(o, "Acc", m.acc()[c]);
            o.put("intersection", total.intersect()[c]);
            o.put("union", total.union()[c]);
            o.put("predicted_area", total.predicted()[c]);
            o.put("label_area", total.label()[c]);
        }
        out.println(MetricsTable.semantic(ds.classes(), m));
        return j;
    }

    private static ObjectNode panopticMetrics(Setup setup, ResultLog log, PrintStream out) {
        EvalDataset ds = setup.dataset();
        PanopticQuality pq = new PanopticQuality(ds.categories());
        for (EvalDataset.Sample s : ds.samples()) {
            JsonNode r = log.get(s.key());
            List<PanopticImage.Match> matches = new ArrayList<>();
            for (JsonNode m : r.path("matches")) matches.add(new PanopticImage.Match(m.get(0).asInt(), m.get(1).asLong(), m.get(2).asLong()));
            Map<Integer, Integer> fp = new java.util.HashMap<>(), fn = new java.util.HashMap<>();
            r.path("fp").fields().forEachRemaining(e -> fp.put(Integer.parseInt(e.getKey()), e.getValue().asInt()));
            r.path("fn").fields().forEachRemaining(e -> fn.put(Integer.parseInt(e.getKey()), e.getValue().asInt()));
            pq.add(new PanopticImage(matches, fp, fn));
        }
        PanopticQuality.Result res = pq.result();
        ObjectNode j = header(setup);
        ObjectNode p = j.putObject("panoptic");
        average(p.putObject("All"), res.all());
        average(p.putObject("Things"), res.things());
        average(p.putObject("Stuff"), res.stuff());
        ArrayNode per = p.putArray("per_class");
        for (PanopticQuality.PerCategory c : res.perCategory()) {
            ObjectNode o = per.addObject();
            o.put("category_id", c.category().id());
            o.put("name", c.category().name());
            o.put("isthing", c.category().isThing() ? 1 : 0);
            number(o, "pq", c.pq());
            number(o, "sq", c.sq());
            number(o, "rq", c.rq());
            o.put("tp", c.tp());
            o.put("fp", c.fp());
            o.put("fn", c.fn());
            o.put("counted", c.counted());
        }
        out.println(MetricsTable.panoptic(res));
        return j;
    }

    private static ObjectNode header(Setup setup) {
        ObjectNode j = JSON.createObjectNode();
        j.put("format_version", 1);
        j.put("dataset", setup.dataset().name());
        j.put("images", setup.dataset().samples().size());
        j.put("classes", setup.dataset().classes().size());
        if (!setup.dataset().panoptic()) {
            j.put("ignore_index", setup.ignoreIndex());
            j.put("reduce_zero_label", setup.reduceZeroLabel());
        }
        return j;
    }

    private static void average(ObjectNode o, PanopticQuality.Average a) {
        number(o, "pq", a.pq());
        number(o, "sq", a.sq());
        number(o, "rq", a.rq());
        o.put("n", a.n());
    }

    /** JSON has no NaN: a metric with nothing to average over is null. */
    private static void number(ObjectNode o, String name, double v) {
        if (Double.isNaN(v)) o.putNull(name);
        else o.put(name, v);
    }

    /** The dense counts of a sparse per-image record. */
    private static SemanticCounts counts(JsonNode r, int k) {
        SemanticCounts c = SemanticCounts.zero(k);
        JsonNode cls = r.path("classes");
        List<String> fields = List.of("intersect", "union", "predicted", "label");
        for (String f : fields) {
            if (!cls.isArray() || !r.path(f).isArray() || r.path(f).size() != cls.size()) {
                throw new OvsegException("per-image record of " + r.path("key").asText() + " is malformed ('" + f + "'); delete " + RECORDS + " to rescore");
            }
        }
        for (int n = 0; n < cls.size(); n++) {
            int i = cls.get(n).asInt();
            if (i < 0 || i >= k) throw new OvsegException("per-image record of " + r.path("key").asText() + " names class " + i + " of " + k);
            c.intersect()[i] += r.path("intersect").get(n).asLong();
            c.union()[i] += r.path("union").get(n).asLong();
            c.predicted()[i] += r.path("predicted").get(n).asLong();
            c.label()[i] += r.path("label").get(n).asLong();
        }
        return c;
    }
}
