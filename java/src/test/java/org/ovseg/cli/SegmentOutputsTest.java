package org.ovseg.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ovseg.cli.SegmentCommandTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.cli.SegmentCommandTest.Run;
import org.ovseg.image.CocoRle;

/**
 * The files {@code segment} writes, read back independently: the 16-bit label map of a large
 * vocabulary, the COCO panoptic PNG against segments_info (ids, areas, boxes and RLE masks
 * recounted from the pixels), the JSON schema, many images without a long command line, and
 * failures that leave earlier outputs in place.
 */
class SegmentOutputsTest {
    @TempDir
    static Path cache;

    private static String[] withCache(String... args) {
        List<String> l = new ArrayList<>(List.of(args));
        l.add("--cache-dir");
        l.add(cache.toString());
        return l.toArray(String[]::new);
    }

    private static int[] samples(BufferedImage img) {
        int[] v = new int[img.getWidth() * img.getHeight()];
        img.getRaster().getSamples(0, 0, img.getWidth(), img.getHeight(), 0, v);
        return v;
    }

    /** 1,000 labels (the 8 colour words among 992 other words) give a 16-bit map that still finds the colours. */
    @Test
    void aThousandLabelsWriteA16BitLabelMap(@TempDir Path dir) throws Exception {
        Scenes.Scene scene = Scenes.generate(21, 181, 133, new int[] {4, 0, 6}, 3);
        Path img = dir.resolve("big-vocab.png");
        scene.write(img);
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < 992; i++) labels.add("thing number " + i);
        labels.addAll(List.of(Scenes.NAMES));
        Collections.shuffle(labels, new java.util.Random(5));
        Path out = dir.resolve("o");
        Run run = cli(withCache("segment", "--image", img.toString(), "--labels", String.join(",", labels), "--templates", "single",
                "--out", out.toString()));
        assertEquals(0, run.code(), run.err());
        BufferedImage map = ImageIO.read(out.resolve("big-vocab.labels.png").toFile());
        assertEquals(16, map.getColorModel().getComponentSize(0), "more than 255 labels need a 16-bit map");
        int[] predicted = samples(map);
        long correct = 0;
        for (int i = 0; i < predicted.length; i++) {
            assertTrue(predicted[i] < 1000 || predicted[i] == 65535, "label value " + predicted[i]);
            if (predicted[i] < 1000 && labels.get(predicted[i]).equals(Scenes.NAMES[scene.truth()[i]])) correct++;
        }
        assertTrue(correct > 0.9 * predicted.length, "pixel accuracy " + (double) correct / predicted.length);
        JsonNode json = new ObjectMapper().readTree(out.resolve("big-vocab.json").toFile());
        assertEquals(16, json.get("label_bit_depth").asInt());
        assertEquals(65535, json.get("unassigned_value").asInt());
        assertEquals(1000, json.get("labels").size());
    }

    /** Every id of panoptic.png is in segments_info, and each entry's area, box and RLE mask are its pixels. */
    @Test
    void panopticPngAgreesWithSegmentsInfo(@TempDir Path dir) throws Exception {
        Scenes.Scene scene = Scenes.generate(8, 143, 97, new int[] {1, 2, 5}, 3);
        Path img = dir.resolve("pan.png");
        scene.write(img);
        Path out = dir.resolve("o");
        String labels = "magenta,green,blue,sofa,red";
        Run run = cli(withCache("segment", "--image", img.toString(), "--labels", labels, "--stuff", "sky", "--instances", "--out", out.toString()));
        assertEquals(0, run.code(), run.err());
        BufferedImage pan = ImageIO.read(out.resolve("pan.panoptic.png").toFile());
        int w = pan.getWidth(), h = pan.getHeight();
        assertEquals(143, w);
        int[] ids = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = pan.getRGB(x, y);
                ids[y * w + x] = ((rgb >> 16) & 0xff) + 256 * ((rgb >> 8) & 0xff) + 65536 * (rgb & 0xff);
            }
        }
        int[] labelMap = samples(ImageIO.read(out.resolve("pan.labels.png").toFile()));
        JsonNode json = new ObjectMapper().readTree(out.resolve("pan.json").toFile());
        assertEquals(ResultJson.FORMAT_VERSION, json.get("format_version").asInt());
        assertEquals("semantic", json.get("panoptic_source").asText());
        assertEquals("onnxruntime-cpu", json.get("backends").get("image").asText());
        assertEquals("onnxruntime-cpu", json.get("backends").get("text").asText());
        assertEquals("stuff", json.get("labels").get(5).get("kind").asText()); // --stuff sky follows the 5 labels
        assertEquals("thing", json.get("labels").get(0).get("kind").asText());
        Map<Integer, JsonNode> info = new HashMap<>();
        for (JsonNode s : json.get("segments_info")) assertTrue(info.put(s.get("id").asInt(), s) == null, "duplicate id");
        Map<Integer, long[]> measured = new HashMap<>(); // area, x0, y0, x1, y1
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int id = ids[y * w + x];
                if (id == 0) continue;
                assertTrue(info.containsKey(id), "id " + id + " at (" + x + "," + y + ") not in segments_info");
                assertEquals(info.get(id).get("category_id").asInt(), labelMap[y * w + x], "a segment's pixels carry its label");
                long[] m = measured.computeIfAbsent(id, k -> new long[] {0, Long.MAX_VALUE, Long.MAX_VALUE, -1, -1});
                m[0]++;
                m[1] = Math.min(m[1], x);
                m[2] = Math.min(m[2], y);
                m[3] = Math.max(m[3], x);
                m[4] = Math.max(m[4], y);
            }
        }
        assertEquals(info.keySet(), measured.keySet(), "every segment covers pixels");
        for (var e : info.entrySet()) {
            long[] m = measured.get(e.getKey());
            JsonNode s = e.getValue();
            assertEquals(m[0], s.get("area").asLong());
            assertEquals(List.of(m[1], m[2], m[3] - m[1] + 1, m[4] - m[2] + 1),
                    List.of(s.get("bbox").get(0).asLong(), s.get("bbox").get(1).asLong(), s.get("bbox").get(2).asLong(), s.get("bbox").get(3).asLong()));
            assertEquals(s.get("label").asText(), json.get("labels").get(s.get("category_id").asInt()).get("label").asText());
            assertEquals(List.of(h, w), List.of(s.get("segmentation").get("size").get(0).asInt(), s.get("segmentation").get("size").get(1).asInt()));
            boolean[] rle = CocoRle.decode(s.get("segmentation").get("counts").asText(), w, h);
            for (int i = 0; i < ids.length; i++) assertEquals(ids[i] == e.getKey(), rle[i], "RLE pixel " + i);
        }
        assertEquals(0, json.get("instances").size(), "MaskCLIP has no instance inference");
        // The colours present are found: a segment each.
        for (int c : scene.present()) {
            assertTrue(info.values().stream().anyMatch(s -> s.get("label").asText().equals(Scenes.NAMES[c])), Scenes.NAMES[c] + " has a segment");
        }
    }

    /**
     * {@code --pipeline xdecoder --instances}: the top-level instances array, each RLE decoded
     * independently and recounted (area, tight box, or zeros when empty), equal pixel for pixel,
     * in order and score, to the API's instances for the same file.
     */
    @Test
    void xdecoderInstancesInTheJson(@TempDir Path dir) throws Exception {
        Scenes.Scene scene = Scenes.generate(9, 151, 107, new int[] {3, 5, 0}, 3);
        Path img = dir.resolve("inst.png");
        scene.write(img);
        Path out = dir.resolve("o");
        String labels = "red,green,blue,yellow";
        Run run = cli(withCache("segment", "--pipeline", "xdecoder", "--image", img.toString(), "--labels", labels, "--stuff", "cyan,magenta",
                "--instances", "--out", out.toString()));
        assertEquals(0, run.code(), run.err());
        JsonNode json = new ObjectMapper().readTree(out.resolve("inst.json").toFile());
        assertEquals(1, json.get("format_version").asInt(), "instances are an additive field");
        JsonNode inst = json.get("instances");
        assertTrue(inst.size() > 0, "X-Decoder gives instances");
        int w = json.get("width").asInt(), h = json.get("height").asInt();
        org.ovseg.api.SegmentationResult api;
        try (org.ovseg.api.Segmenter seg = org.ovseg.api.Segmenter.builder().pipeline("xdecoder").cacheDir(cache).build()) {
            api = seg.segmentWithStuff(new org.ovseg.image.ImageDecoder().decode(img), org.ovseg.api.Labels.parse(labels),
                    org.ovseg.api.Labels.parse("cyan,magenta"));
        }
        assertEquals(api.instances().size(), inst.size());
        double previous = Double.POSITIVE_INFINITY;
        for (int k = 0; k < inst.size(); k++) {
            JsonNode j = inst.get(k);
            int cat = j.get("category_id").asInt();
            assertTrue(cat < 4, "things only when stuff is named: " + j);
            assertEquals(json.get("labels").get(cat).get("label").asText(), j.get("label").asText());
            double score = j.get("score").asDouble();
            assertTrue(score >= 0 && score <= 1 && score <= previous, "scores in [0, 1], descending: " + score);
            previous = score;
            assertEquals(List.of(h, w), List.of(j.get("segmentation").get("size").get(0).asInt(), j.get("segmentation").get("size").get(1).asInt()));
            boolean[] m = CocoRle.decode(j.get("segmentation").get("counts").asText(), w, h);
            long area = 0;
            int x0 = Integer.MAX_VALUE, y0 = Integer.MAX_VALUE, x1 = -1, y1 = -1;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    if (!m[y * w + x]) continue;
                    area++;
                    x0 = Math.min(x0, x);
                    y0 = Math.min(y0, y);
                    x1 = Math.max(x1, x);
                    y1 = Math.max(y1, y);
                }
            }
            assertEquals(area, j.get("area").asLong());
            List<Integer> box = area == 0 ? List.of(0, 0, 0, 0) : List.of(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
            assertEquals(box, List.of(j.get("bbox").get(0).asInt(), j.get("bbox").get(1).asInt(), j.get("bbox").get(2).asInt(), j.get("bbox").get(3).asInt()));
            var a = api.instances().get(k);
            assertEquals(a.labelIndex(), cat);
            assertEquals(a.score(), (float) score);
            assertArrayEquals(a.mask().toArray(), m, "instance " + k + ": RLE decodes to the API's mask");
        }
        // The thing colours present each have an instance that covers most of their region.
        for (int c : scene.present()) {
            if (c >= 4) continue;
            boolean found = false;
            for (JsonNode j : inst) {
                if (j.get("category_id").asInt() != c) continue;
                boolean[] m = CocoRle.decode(j.get("segmentation").get("counts").asText(), w, h);
                long inter = 0, union = 0;
                for (int p = 0; p < m.length; p++) {
                    boolean t = scene.truth()[p] == c;
                    if (t && m[p]) inter++;
                    if (t || m[p]) union++;
                }
                found |= inter >= 0.8 * union;
            }
            assertTrue(found, Scenes.NAMES[c] + " has an instance with IoU >= 0.8");
        }
    }

    /** Images from a directory, a glob and a list file; one corrupt image is reported and the rest still written. */
    @Test
    void manyImagesWithoutALongCommandLine(@TempDir Path dir) throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        for (int i = 0; i < 3; i++) Scenes.generate(30 + i, 40 + i, 30, new int[] {0, 1}, 1).write(in.resolve("img" + i + ".png"));
        Files.writeString(in.resolve("readme.txt"), "not an image");
        byte[] good = Files.readAllBytes(in.resolve("img0.png"));
        Path sub = Files.createDirectories(dir.resolve("sub"));
        Files.write(sub.resolve("broken.png"), java.util.Arrays.copyOf(good, 70));
        Scenes.generate(40, 33, 21, new int[] {2, 3}, 1).write(sub.resolve("fine.png"));

        Path out1 = dir.resolve("o1");
        Run byDir = cli(withCache("segment", "--image", in.toString(), "--labels", "red,green", "--out", out1.toString()));
        assertEquals(0, byDir.code(), byDir.err());
        for (int i = 0; i < 3; i++) assertTrue(Files.exists(out1.resolve("img" + i + ".labels.png")));
        assertFalse(Files.exists(out1.resolve("readme.json")));

        Path out2 = dir.resolve("o2");
        Run byGlob = cli(withCache("segment", "--image", in + "/img[12].png", "--labels", "red,green", "--out", out2.toString()));
        assertEquals(0, byGlob.code(), byGlob.err());
        assertEquals(List.of("img1.json", "img2.json"), jsonFiles(out2));

        Path list = Files.writeString(dir.resolve("list.txt"), "# two images and a broken one\n" + sub.resolve("broken.png") + "\n\n"
                + in.resolve("img0.png") + "\n" + sub.resolve("fine.png") + "\n");
        Path out3 = dir.resolve("o3");
        Run byList = cli(withCache("segment", "--images-from", list.toString(), "--labels", "red,green,blue,yellow", "--out", out3.toString()));
        assertEquals(2, byList.code(), "a failed image makes the exit code 2");
        assertEquals(List.of("fine.json", "img0.json"), jsonFiles(out3));
        List<String> errors = byList.err().strip().lines().toList();
        assertEquals(2, errors.size(), byList.err());
        assertTrue(errors.get(0).startsWith("error: " + sub.resolve("broken.png") + ": "), errors.get(0));
        assertEquals("error: 1 of 3 images failed", errors.get(1));
        assertEquals(2, byList.out().strip().lines().count(), byList.out());
    }

    /** All of an image's files are renamed into place only when all are written: a failure keeps the last run's. */
    @Test
    void aFailedWriteLeavesThePreviousOutputsInPlace(@TempDir Path dir) throws Exception {
        Path img = dir.resolve("keep.png");
        Scenes.generate(50, 64, 48, new int[] {0, 1}, 1).write(img);
        Path out = dir.resolve("o");
        assertEquals(0, cli(withCache("segment", "--image", img.toString(), "--labels", "red,green", "--out", out.toString())).code());
        Map<String, byte[]> before = contents(out);
        assertEquals(4, before.size(), before.keySet().toString());
        // Second run with other labels: its logits file cannot be written (no such directory), so nothing may change.
        Run second = cli(withCache("segment", "--image", img.toString(), "--labels", "green,red,blue", "--out", out.toString(),
                "--save-logits", dir.resolve("missing-dir/keep.npy").toString()));
        assertEquals(2, second.code(), second.err());
        assertTrue(second.err().contains("cannot write outputs"), second.err());
        Map<String, byte[]> after = contents(out);
        assertEquals(before.keySet(), after.keySet(), "no temporary files left behind");
        for (String f : before.keySet()) assertArrayEquals(before.get(f), after.get(f), f + " unchanged");
        // A target that became a directory is refused before anything is renamed.
        Files.delete(out.resolve("keep.json"));
        Files.createDirectories(out.resolve("keep.json").resolve("x"));
        Run third = cli(withCache("segment", "--image", img.toString(), "--labels", "green,red,blue", "--out", out.toString()));
        assertEquals(2, third.code());
        assertArrayEquals(before.get("keep.labels.png"), Files.readAllBytes(out.resolve("keep.labels.png")));
    }

    /**
     * An image that exhausts the heap while decoding (a 1-bit 8000x8000 PNG is small on disk and
     * 192 MB as RGB) is reported on one line in a child JVM with a 96 MB heap; the image after it
     * is still segmented.
     */
    @Test
    void anImageThatRunsOutOfMemoryIsReportedAndTheNextOneRuns(@TempDir Path dir) throws Exception {
        BufferedImage huge = new BufferedImage(8000, 8000, BufferedImage.TYPE_BYTE_BINARY);
        Path big = dir.resolve("a-huge.png");
        ImageIO.write(huge, "png", big.toFile());
        Path small = dir.resolve("b-small.png");
        Scenes.generate(60, 48, 40, new int[] {2, 3}, 1).write(small);
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(javaBin, "-Xmx96m", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-cp", System.getProperty("java.class.path"),
                "org.ovseg.cli.Main", "segment", "--image", big.toString(), "--image", small.toString(), "--labels", "blue,yellow",
                "--out", dir.resolve("o").toString(), "--cache-dir", cache.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        String stdout = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        String stderr = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES));
        assertEquals(2, p.exitValue(), stderr);
        List<String> errors = stderr.strip().lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(2, errors.size(), stderr);
        assertTrue(errors.get(0).startsWith("error: " + big + ": out of memory"), errors.get(0));
        assertTrue(stdout.contains("b-small.png"), stdout);
        assertEquals(List.of("b-small.json"), jsonFiles(dir.resolve("o")));
    }

    private static List<String> jsonFiles(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json")).sorted().toList();
        }
    }

    private static Map<String, byte[]> contents(Path dir) throws Exception {
        Map<String, byte[]> m = new java.util.TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) if (Files.isRegularFile(p)) m.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
        return m;
    }
}
