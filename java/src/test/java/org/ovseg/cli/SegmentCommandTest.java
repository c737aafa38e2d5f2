package org.ovseg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code ovseg segment} end to end with the built-in colour-world model: generated scenes of
 * pure-colour rectangles and ellipses on a coloured background, odd image sizes, labels in random
 * order including colours that are absent. The label map must reach mIoU >= 0.85 over the
 * colours present and give at most 1% of the pixels to absent colours. Then each bad input.
 */
class SegmentCommandTest {
    @TempDir
    static Path cache;

    record Run(int code, String out, String err) {}

    static Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static String[] withCache(String... args) {
        List<String> l = new ArrayList<>(List.of(args));
        l.add("--cache-dir");
        l.add(cache.toString());
        return l.toArray(String[]::new);
    }

    @BeforeAll
    static void warmBuiltinModel() {
        // Generates builtin:colour-world once for the class (the first use writes it to the cache).
        assertEquals(0, cli(withCache("segment", "--help")).code());
    }

    @ParameterizedTest
    @CsvSource({"1, 333, 517, 6", "2, 517, 333, 5", "3, 640, 480, 8", "4, 257, 1031, 4", "5, 512, 512, 7"})
    void segmentsGeneratedScenes(long seed, int width, int height, int shapes, @TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(seed * 7919);
        List<Integer> all = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7));
        Collections.shuffle(all, new java.util.Random(seed));
        int[] colours = all.subList(0, 4).stream().mapToInt(Integer::intValue).toArray(); // background + 3 shape colours
        Scenes.Scene scene = Scenes.generate(seed, width, height, colours, shapes);
        Path img = dir.resolve("scene-" + seed + ".png");
        scene.write(img);
        // Labels: every present colour, two absent colours and a non-colour word, shuffled.
        List<String> labels = new ArrayList<>();
        for (int c : scene.present()) labels.add(Scenes.NAMES[c]);
        int absentAdded = 0;
        for (int c : all) if (!scene.present().contains(c) && absentAdded < 2) { labels.add(Scenes.NAMES[c]); absentAdded++; }
        labels.add(r.nextBoolean() ? "bugatti" : "sofa");
        Collections.shuffle(labels, new java.util.Random(seed + 1));
        Path out = dir.resolve("out");
        Run run = cli(withCache("segment", "--image", img.toString(), "--labels", String.join(",", labels), "--out", out.toString()));
        assertEquals(0, run.code(), run.err());

        BufferedImage map = ImageIO.read(out.resolve("scene-" + seed + ".labels.png").toFile());
        assertEquals(width, map.getWidth());
        assertEquals(height, map.getHeight());
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, map.getType());
        int[] predicted = new int[width * height];
        map.getRaster().getSamples(0, 0, width, height, 0, predicted);
        double miou = 0;
        long absent = 0;
        for (int c : scene.present()) {
            int label = labels.indexOf(Scenes.NAMES[c]);
            long inter = 0, union = 0;
            for (int i = 0; i < predicted.length; i++) {
                boolean p = predicted[i] == label, t = scene.truth()[i] == c;
                if (p && t) inter++;
                if (p || t) union++;
            }
            miou += (double) inter / union;
        }
        miou /= scene.present().size();
        for (int p : predicted) {
            String name = labels.get(p);
            int colour = List.of(Scenes.NAMES).indexOf(name);
            if (colour < 0 || !scene.present().contains(colour)) absent++;
        }
        assertTrue(miou >= 0.85, "mIoU " + miou + " for labels " + labels);
        assertTrue(absent <= 0.01 * predicted.length, absent + " pixels given absent labels");

        JsonNode json = new ObjectMapper().readTree(out.resolve("scene-" + seed + ".json").toFile());
        assertEquals(width, json.get("width").asInt());
        assertEquals(labels.size(), json.get("labels").size());
        double fractions = 0;
        for (JsonNode l : json.get("labels")) fractions += l.get("pixel_fraction").asDouble();
        assertEquals(1.0, fractions, 1e-9);
        assertTrue(json.get("timings_ms").has("image encoder"));
        assertTrue(Files.size(out.resolve("scene-" + seed + ".overlay.png")) > 0);
    }

    @Test
    void savesLogitsAsNpy(@TempDir Path dir) throws Exception {
        Scenes.Scene scene = Scenes.generate(9, 97, 61, new int[] {0, 1, 2}, 2);
        Path img = dir.resolve("s.png");
        scene.write(img);
        Path npy = dir.resolve("logits.npy");
        Run run = cli(withCache("segment", "--image", img.toString(), "--labels", "red,green,blue", "--out", dir.resolve("o").toString(),
                "--save-logits", npy.toString()));
        assertEquals(0, run.code(), run.err());
        var arr = org.ovseg.bundle.Npy.readFloats(npy);
        assertEquals(List.of(3L, 61L, 97L), List.of(arr.shape()[0], arr.shape()[1], arr.shape()[2]));
        BufferedImage map = ImageIO.read(dir.resolve("o/s.labels.png").toFile());
        // The label map is the argmax of the saved logits.
        for (int y = 0; y < 61; y += 7) {
            for (int x = 0; x < 97; x += 5) {
                int best = 0;
                for (int k = 1; k < 3; k++) if (arr.data()[(k * 61 + y) * 97 + x] > arr.data()[(best * 61 + y) * 97 + x]) best = k;
                assertEquals(best, map.getRaster().getSample(x, y, 0));
            }
        }
    }

    /** {@code --pipeline car} without a model runs CaR's built-in demo; the JSON reports the recurrence. */
    @Test
    void pipelineCarRunsTheBuiltInCarDemo(@TempDir Path dir) throws Exception {
        Scenes.Scene scene = Scenes.generate(11, 150, 130, new int[] {2, 3}, 2); // yellow shapes on blue
        Path img = dir.resolve("two.png");
        scene.write(img);
        Run run = cli(withCache("segment", "--pipeline", "car", "--image", img.toString(), "--labels", "magenta,blue,red,yellow",
                "--out", dir.resolve("o").toString()));
        assertEquals(0, run.code(), run.err());
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("o/two.json").toFile());
        assertEquals("car", json.get("pipeline").asText());
        assertEquals("fp32", json.get("precisions").get("car_classifier_image").asText(), "the CPU runs the fp32 variant");
        assertEquals(4, json.get("precisions").size(), json.toString());
        var last = json.get("steps").get(json.get("steps").size() - 1);
        List<String> kept = new ArrayList<>();
        last.get("kept").forEach(n -> kept.add(n.asText()));
        assertEquals(List.of("blue", "yellow"), kept.stream().sorted().toList(), json.get("steps").toString());
    }

    /**
     * {@code --pipeline xdecoder --refer} with two sentences: the JSON's labels are the sentences,
     * one segment per sentence whose RLE is its label's pixels, and the label PNG is, from the saved
     * per-sentence mask logits, the sentence with the largest positive logit (earlier on ties).
     */
    @Test
    void xdecoderReferGivesOneMaskPerSentence(@TempDir Path dir) throws Exception {
        Scenes.Scene scene = Scenes.generate(5, 120, 96, new int[] {2, 3}, 2); // yellow shapes on blue
        assertEquals(List.of(2, 3), scene.present());
        Path img = dir.resolve("r.png");
        scene.write(img);
        Path npy = dir.resolve("r.npy");
        List<String> sentences = List.of("the yellow shape", "the blue area");
        Run run = cli(withCache("segment", "--pipeline", "xdecoder", "--refer", "--instances", "--image", img.toString(), "--labels",
                String.join(",", sentences), "--out", dir.resolve("o").toString(), "--save-logits", npy.toString()));
        assertEquals(0, run.code(), run.err());
        JsonNode json = new ObjectMapper().readTree(dir.resolve("o/r.json").toFile());
        assertEquals("refer", json.get("request").asText());
        List<String> labels = new ArrayList<>();
        json.get("labels").forEach(l -> labels.add(l.get("label").asText()));
        assertEquals(sentences, labels);
        int w = scene.width(), h = scene.height(), unassigned = json.get("unassigned_value").asInt();
        var arr = org.ovseg.bundle.Npy.readFloats(npy);
        assertEquals(List.of(2L, (long) h, (long) w), List.of(arr.shape()[0], arr.shape()[1], arr.shape()[2]));
        int[] want = new int[w * h];
        for (int p = 0; p < w * h; p++) {
            float a = arr.data()[p], b = arr.data()[w * h + p];
            want[p] = a > 0 && a >= b ? 0 : b > 0 ? 1 : unassigned;
        }
        BufferedImage map = ImageIO.read(dir.resolve("o/r.labels.png").toFile());
        long[] truthHits = new long[2];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int got = map.getRaster().getSample(x, y, 0);
                assertEquals(want[y * w + x], got, "pixel " + x + "," + y);
                int colour = scene.truth()[y * w + x];
                if ((colour == 3 && got == 0) || (colour == 2 && got == 1)) truthHits[colour == 3 ? 0 : 1]++;
            }
        }
        long yellow = java.util.Arrays.stream(scene.truth()).filter(c -> c == 3).count();
        assertTrue(truthHits[0] >= 0.9 * yellow && truthHits[1] >= 0.9 * (w * h - yellow), java.util.Arrays.toString(truthHits));
        JsonNode segs = json.get("segments_info");
        assertEquals(2, segs.size(), segs.toString());
        for (JsonNode seg : segs) {
            int label = seg.get("category_id").asInt();
            assertEquals(sentences.get(label), seg.get("label").asText());
            boolean[] m = org.ovseg.image.CocoRle.decode(seg.get("segmentation").get("counts").asText(), w, h);
            long area = 0;
            for (int p = 0; p < w * h; p++) {
                assertEquals(want[p] == label, m[p], "segment " + label + " pixel " + p);
                if (m[p]) area++;
            }
            assertEquals(area, seg.get("area").asLong());
        }
    }

    /** {@code --preset voc} without {@code --labels}: CaR queries the official VOC list (data/voc.py). */
    @Test
    void presetWithoutLabelsUsesTheOfficialClassList(@TempDir Path dir) throws Exception {
        Path img = dir.resolve("s.png");
        Scenes.generate(5, 48, 40, new int[] {2, 3}, 1).write(img);
        Run run = cli(withCache("segment", "--pipeline", "car", "--preset", "voc", "--image", img.toString(), "--out", dir.resolve("o").toString()));
        assertEquals(0, run.code(), run.err());
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("o/s.json").toFile());
        List<String> names = new ArrayList<>();
        json.get("labels").forEach(l -> names.add(l.get("label").asText()));
        assertEquals(20, names.size());
        assertEquals("person with clothes,people,human", names.get(14), "one query with commas, VOC index 15 - 1");
        assertEquals(List.of("aeroplane", "bird avian", "tvmonitor screen"), List.of(names.get(0), names.get(2), names.get(19)));
        Path out = dir.resolve("o2");
        assertFails(cli(withCache("segment", "--pipeline", "car", "--image", img.toString(), "--out", out.toString())), "missing required option --labels");
        assertFails(cli(withCache("segment", "--preset", "voc", "--image", img.toString(), "--out", out.toString())),
                "the 'maskclip' pipeline's preset 'voc' has no class list");
    }

    /** {@code --preset context} without labels: the official things and stuff lists, the stuff pass run (data/context.py). */
    @Test
    void contextPresetWithoutLabelsBringsThingsAndStuff(@TempDir Path dir) throws Exception {
        Path img = dir.resolve("s.png");
        Scenes.generate(5, 48, 40, new int[] {2, 3}, 1).write(img);
        Run run = cli(withCache("segment", "--pipeline", "car", "--preset", "context", "--image", img.toString(), "--out", dir.resolve("o").toString()));
        assertEquals(0, run.code(), run.err());
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("o/s.json").toFile());
        List<String> names = new ArrayList<>();
        json.get("labels").forEach(l -> names.add(l.get("label").asText()));
        List<String> want = new ArrayList<>(org.ovseg.pipeline.car.CarSettings.CONTEXT_THING_CLASSES);
        want.addAll(org.ovseg.pipeline.car.CarSettings.CONTEXT_STUFF_CLASSES);
        assertEquals(want, names, "38 things then 21 stuff, in the official order");
        assertFails(cli(withCache("segment", "--pipeline", "car", "--preset", "context", "--stuff", "sky", "--image", img.toString(),
                "--out", dir.resolve("o2").toString())), "--stuff needs --labels");
    }

    private static void assertFails(Run run, String fragment) {
        assertEquals(2, run.code(), "exit code; stderr: " + run.err());
        assertTrue(run.err().startsWith("error: "), run.err());
        assertEquals(1, run.err().strip().lines().count(), "one line: " + run.err());
        assertTrue(run.err().contains(fragment), "expected '" + fragment + "' in: " + run.err());
    }

    private static List<Path> files(Path dir) throws Exception {
        if (!Files.exists(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void badInputsGiveOneLineErrorsAndNoFiles(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("good.png");
        Scenes.generate(1, 40, 30, new int[] {0, 1}, 1).write(good);
        Path out = dir.resolve("out");
        assertFails(cli(withCache("segment", "--image", dir.resolve("missing.png").toString(), "--labels", "red", "--out", out.toString())), "image not found");
        Path corrupt = Files.write(dir.resolve("corrupt.png"), java.util.Arrays.copyOf(Files.readAllBytes(good), 60));
        assertFails(cli(withCache("segment", "--image", corrupt.toString(), "--labels", "red", "--out", out.toString())), "corrupt");
        Path text = Files.writeString(dir.resolve("notes.jpg"), "not an image at all");
        assertFails(cli(withCache("segment", "--image", text.toString(), "--labels", "red", "--out", out.toString())), "unsupported or corrupt");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "", "--out", out.toString())), "no labels");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--sam-pred-iou", "0.3", "--out", out.toString())),
                "--sam-pred-iou needs --sam DIR");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--sam", dir.toString(), "--sam-nms", "x",
                "--out", out.toString())), "--sam-nms must be a number, got 'x'");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red,,green", "--out", out.toString())), "empty");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red,green,Red", "--out", out.toString())), "duplicate label");
        String longLabel = String.join(" ", Collections.nCopies(80, "word"));
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red," + longLabel, "--out", out.toString())), "too long for the text context");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--model", "builtin:nope")), "unknown model");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--model", dir.resolve("no-bundle").toString())), "bundle directory does not exist");
        Path blocker = Files.writeString(dir.resolve("blocker"), "x");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", blocker.resolve("sub").toString())), "output");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", blocker.toString())), "not a directory");
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 10000; i++) many.add("label" + i);
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", String.join(",", many), "--out", out.toString())), "too many labels");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--size", "abc")), "--size");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--bogus", "1")), "unknown option --bogus");
        assertFails(cli(withCache("segment", "--labels", "red", "--out", out.toString())), "--image");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--refer")),
                "referring segmentation (--refer) is not available with the 'maskclip' pipeline (pipelines that can: car, xdecoder)");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--stuff", "sky,Red")), "duplicate label");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--pipeline", "car",
                "--key-smoothing", "1")), "option --key-smoothing does not apply to the 'car' pipeline");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--pipeline", "car", "--preset", "bogus")),
                "unknown preset 'bogus' for the 'car' pipeline");
        assertFails(cli(withCache("segment", "--image", dir.resolve("nowhere").toString() + "/*.png", "--labels", "red", "--out", out.toString())),
                "does not exist");
        assertFails(cli(withCache("segment", "--images-from", dir.resolve("no-list.txt").toString(), "--labels", "red", "--out", out.toString())),
                "cannot read --images-from");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--pipeline", "nope")), "--pipeline");
        assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--pipeline", "car",
                "--model", "builtin:colour-world")), "is a 'maskclip' bundle, not 'car'");
        if (org.ovseg.kernel.Device.cuda().isEmpty()) {
            assertFails(cli(withCache("segment", "--image", good.toString(), "--labels", "red", "--out", out.toString(), "--backend", "tensorrt")), "TensorRT");
        }
        assertTrue(files(out).stream().noneMatch(p -> p.getFileName().toString().startsWith("good")), "no outputs after failures: " + files(out));
    }

    @Test
    void oneBadImageAmongSeveralLeavesNoFilesForIt(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("good.png");
        Scenes.generate(2, 50, 40, new int[] {2, 3}, 1).write(good);
        byte[] png = Files.readAllBytes(good);
        Path bad = Files.write(dir.resolve("bad.png"), java.util.Arrays.copyOf(png, png.length - 30));
        Path out = dir.resolve("out");
        Run run = cli(withCache("segment", "--image", good.toString(), "--image", bad.toString(), "--labels", "blue,yellow", "--out", out.toString()));
        assertEquals(2, run.code());
        assertTrue(run.err().contains("bad.png"), run.err());
        assertTrue(Files.exists(out.resolve("good.labels.png")));
        assertFalse(files(out).stream().anyMatch(p -> p.getFileName().toString().startsWith("bad")), files(out).toString());
        assertTrue(files(out).stream().noneMatch(p -> p.getFileName().toString().endsWith(".part")), files(out).toString());
    }

    /**
     * Many images in one run (decoding, model and writing overlapped) write exactly what one run
     * per image writes (nothing can overlap there): PNGs and logits byte for byte, the JSON equal
     * but for the measured timings; report lines in input order, a bad image reported in its place.
     */
    @Test
    void overlappedRunWritesWhatSerialRunsWrite(@TempDir Path dir) throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Path img = dir.resolve("img" + i + ".png");
            Scenes.generate(20 + i, 90 + 17 * i, 70 + 9 * i, new int[] {0, 1, 2, 3}, 2 + i % 3).write(img);
            names.add(img.toString());
        }
        byte[] png = Files.readAllBytes(Path.of(names.get(3)));
        Files.write(Path.of(names.get(3)), java.util.Arrays.copyOf(png, png.length - 30)); // truncated: fails to decode
        Path together = dir.resolve("together"), logitsTogether = Files.createDirectories(dir.resolve("lt"));
        List<String> args = new ArrayList<>(List.of("segment", "--labels", "red,green,blue,yellow", "--out", together.toString(),
                "--save-logits", logitsTogether.toString()));
        for (String n : names) args.addAll(List.of("--image", n));
        Run all = cli(withCache(args.toArray(String[]::new)));
        assertEquals(2, all.code(), all.err());
        List<String> lines = all.out().lines().toList();
        assertEquals(5, lines.size(), all.out());
        for (int i = 0, l = 0; i < names.size(); i++) if (i != 3) assertTrue(lines.get(l++).startsWith(names.get(i) + ":"), all.out());
        assertTrue(all.err().contains("img3.png"), all.err());

        Path serial = dir.resolve("serial"), logitsSerial = Files.createDirectories(dir.resolve("ls"));
        for (int i = 0; i < names.size(); i++) {
            if (i == 3) continue;
            Run one = cli(withCache("segment", "--labels", "red,green,blue,yellow", "--out", serial.toString(), "--image", names.get(i),
                    "--save-logits", logitsSerial.resolve("img" + i + ".logits.npy").toString()));
            assertEquals(0, one.code(), one.err());
        }
        assertEquals(files(serial).stream().map(p -> p.getFileName().toString()).sorted().toList(),
                files(together).stream().map(p -> p.getFileName().toString()).sorted().toList());
        ObjectMapper m = new ObjectMapper();
        for (Path p : files(serial)) {
            Path q = together.resolve(p.getFileName());
            if (p.toString().endsWith(".json")) {
                var a = (com.fasterxml.jackson.databind.node.ObjectNode) m.readTree(p.toFile());
                var b = (com.fasterxml.jackson.databind.node.ObjectNode) m.readTree(q.toFile());
                a.remove("timings_ms");
                b.remove("timings_ms");
                ((com.fasterxml.jackson.databind.node.ObjectNode) a.get("files")).remove("logits");
                ((com.fasterxml.jackson.databind.node.ObjectNode) b.get("files")).remove("logits");
                assertEquals(a, b, p.getFileName().toString());
            } else {
                assertTrue(java.util.Arrays.equals(Files.readAllBytes(p), Files.readAllBytes(q)), p.getFileName() + " differs");
            }
        }
        for (Path p : files(logitsSerial)) {
            assertTrue(java.util.Arrays.equals(Files.readAllBytes(p), Files.readAllBytes(logitsTogether.resolve(p.getFileName()))), p.toString());
        }
        assertEquals(5, files(logitsTogether).size());
    }

    @Test
    void unicodeLabelsAreAccepted(@TempDir Path dir) throws Exception {
        Path img = dir.resolve("u.png");
        Scenes.generate(3, 64, 48, new int[] {0, 1}, 1).write(img);
        Run run = cli(withCache("segment", "--image", img.toString(), "--labels", "red,green,猫,café,🚗", "--out", dir.resolve("o").toString()));
        assertEquals(0, run.code(), run.err());
        JsonNode json = new ObjectMapper().readTree(dir.resolve("o/u.json").toFile());
        assertEquals("猫", json.get("labels").get(2).get("label").asText());
    }

    @Test
    void modelsListsAndDescribesBundles(@TempDir Path dir) throws Exception {
        Run list = cli("models");
        assertEquals(0, list.code(), list.err());
        assertTrue(list.out().contains("builtin:colour-world"));
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith("builtin:colour-world-odise") && l.contains("ODISE")), list.out());
        assertTrue(list.out().lines().anyMatch(l -> l.strip().startsWith("car ") && l.contains("referring segmentation (--refer)")
                && l.contains("presets: ade, coco-object, context, refcoco, voc")), list.out());
        Run describe = cli("models", "--cache-dir", cache.toString(), "builtin:colour-world");
        assertEquals(0, describe.code(), describe.err());
        assertTrue(describe.out().contains("maskclip bundle") && describe.out().contains("network image"), describe.out());
        Files.writeString(dir.resolve("bundle.json"), "{ not json");
        assertFails(cli("models", dir.toString()), "malformed JSON");
    }

    @Test
    void tokenizePrintsIdsPerArgument() {
        Run run = cli("tokenize", "a photo of a cat.", "red");
        assertEquals(0, run.code(), run.err());
        assertEquals(List.of("49406 320 1125 539 320 2368 269 49407", "49406 736 49407"), run.out().strip().lines().toList());
    }
}
