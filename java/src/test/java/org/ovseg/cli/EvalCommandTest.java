package org.ovseg.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ovseg.cli.SegmentCommandTest.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.cli.SegmentCommandTest.Run;

/**
 * {@code ovseg eval} end to end with the built-in colour-world model on generated datasets: a
 * VOC layout with palette PNGs (the palette's colours differ from the index, so reading colours
 * would fail), metrics recomputed here from the prediction PNGs with a confusion matrix,
 * resumption after an interruption, a COCO panoptic case with hand-computed PQ, and bad input.
 * The numpy / COCO-API cross-check on every layout runs in CI (tools/ci/eval_check.sh).
 */
class EvalCommandTest {
    @TempDir
    static Path cache;

    /** The 8 colours sit at these VOC class ids; the others get filler words the model scores 0. */
    private static final int[] VOC_IDS = {0, 2, 5, 8, 11, 14, 17, 20};

    private static String vocLabels() {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < 21; i++) l.add("filler word " + i);
        for (int j = 0; j < 8; j++) l.set(VOC_IDS[j], Scenes.NAMES[j]);
        return String.join(",", l);
    }

    private static String[] args(String... a) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(List.of("--cache-dir", cache.toString(), "--templates", "single"));
        return l.toArray(String[]::new);
    }

    /** Writes a VOC2012 layout: colour scenes, palette-PNG truth with one shape mislabelled, a void border, a value naming no class. */
    private static Path writeVoc(Path root, int images) throws Exception {
        Path base = root.resolve("VOCdevkit/VOC2012");
        Files.createDirectories(base.resolve("JPEGImages"));
        Files.createDirectories(base.resolve("SegmentationClass"));
        Files.createDirectories(base.resolve("ImageSets/Segmentation"));
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        for (int i = 0; i < 256; i++) {
            r[i] = (byte) (i * 37);
            g[i] = (byte) (i * 91);
            b[i] = (byte) (i * 53);
        }
        IndexColorModel palette = new IndexColorModel(8, 256, r, g, b);
        List<String> ids = new ArrayList<>();
        for (int n = 0; n < images; n++) {
            String id = "2007_00" + n;
            ids.add(id);
            Scenes.Scene s = Scenes.generate(40 + n, 72, 56, new int[] {6, 0, 1, 2, 3, 7}, 3);
            s.write(base.resolve("JPEGImages/" + id + ".png"));
            BufferedImage mask = new BufferedImage(s.width(), s.height(), BufferedImage.TYPE_BYTE_INDEXED, palette);
            for (int y = 0; y < s.height(); y++) {
                for (int x = 0; x < s.width(); x++) {
                    int c = s.truth()[y * s.width() + x];
                    int v = VOC_IDS[c];
                    if (c == 0 && x < s.width() / 2) v = VOC_IDS[3]; // red pixels on the left annotated yellow
                    if (y < 2) v = 255; // void border
                    if (y == 10 && x < 6) v = 21; // a value that names no class
                    mask.getRaster().setSample(x, y, 0, v);
                }
            }
            ImageIO.write(mask, "png", base.resolve("SegmentationClass/" + id + ".png").toFile());
        }
        Files.writeString(base.resolve("ImageSets/Segmentation/val.txt"), String.join("\n", ids) + "\n");
        return base;
    }

    /** mIoU recomputed from the prediction PNGs and the truth's palette indices with a confusion matrix. */
    @Test
    void vocMetricsEqualAConfusionMatrixOfTheWrittenPredictions(@TempDir Path dir) throws Exception {
        Path base = writeVoc(dir.resolve("data"), 3);
        Path out = dir.resolve("out");
        Run run = cli(args("eval", "--dataset", "voc", "--root", dir.resolve("data").toString(), "--labels", vocLabels(), "--out", out.toString()));
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("mIoU"), run.out());
        int k = 21;
        long[][] cm = new long[k + 1][k + 1]; // last row/column: outside [0, k)
        long correctColour = 0, pixels = 0;
        for (String id : List.of("2007_000", "2007_001", "2007_002")) {
            int[] truth = samples(ImageIO.read(base.resolve("SegmentationClass/" + id + ".png").toFile()));
            int[] pred = samples(ImageIO.read(out.resolve("predictions/" + id + ".png").toFile()));
            BufferedImage img = ImageIO.read(base.resolve("JPEGImages/" + id + ".png").toFile());
            for (int i = 0; i < truth.length; i++) {
                int rgb = img.getRGB(i % img.getWidth(), i / img.getWidth()) & 0xffffff;
                int colour = Arrays.stream(Scenes.RGB).boxed().toList().indexOf(rgb);
                if (pred[i] == VOC_IDS[colour]) correctColour++;
                pixels++;
                if (truth[i] == 255) continue;
                cm[Math.min(truth[i], k)][Math.min(pred[i], k)]++;
            }
        }
        assertTrue(correctColour > 0.9 * pixels, "the model finds the colours: " + (double) correctColour / pixels);
        double iouSum = 0, interAll = 0, labelAll = 0;
        int present = 0;
        JsonNode m = new ObjectMapper().readTree(out.resolve("metrics.json").toFile()).get("semantic");
        for (int c = 0; c < k; c++) {
            long inter = cm[c][c], label = 0, predicted = 0;
            for (int o = 0; o <= k; o++) {
                label += cm[c][o];
                predicted += cm[o][c];
            }
            long union = label + predicted - inter;
            JsonNode row = m.get("per_class").get(c);
            assertEquals(inter, row.get("intersection").asLong(), "class " + c);
            assertEquals(union, row.get("union").asLong(), "class " + c);
            if (union > 0) {
                iouSum += (double) inter / union;
                present++;
                assertEquals((double) inter / union, row.get("IoU").asDouble(), 1e-15);
            } else {
                assertTrue(row.get("IoU").isNull());
            }
            interAll += inter;
            labelAll += label;
        }
        assertEquals(iouSum / present, m.get("mIoU").asDouble(), 1e-12);
        assertEquals(interAll / labelAll, m.get("aAcc").asDouble(), 1e-12);
        assertTrue(m.get("mIoU").asDouble() < 0.95 && present >= 4, "the mislabelled shape and the stray value must cost something: " + m);
    }

    /**
     * An interrupted run (the per-image log cut mid-line, as a kill during a write leaves it) and
     * its rerun give the same metrics.json, byte for byte, as one uninterrupted run; the rerun
     * scores only the images missing, and a rerun with nothing left loads no model.
     */
    @Test
    void resumingAfterAnInterruptionGivesTheSameMetrics(@TempDir Path dir) throws Exception {
        writeVoc(dir.resolve("data"), 4);
        Path out = dir.resolve("out");
        String[] cmd = args("eval", "--dataset", "voc", "--root", dir.resolve("data").toString(), "--labels", vocLabels(), "--out", out.toString());
        Run first = cli(cmd);
        assertEquals(0, first.code(), first.err());
        assertTrue(first.err().contains("eval: 4/4 images"), "plain progress lines off a terminal: " + first.err());
        byte[] once = Files.readAllBytes(out.resolve("metrics.json"));
        Path log = out.resolve("per-image.jsonl");
        List<String> lines = Files.readAllLines(log);
        assertEquals(4, lines.size());
        Files.writeString(log, lines.get(0) + "\n" + lines.get(1).substring(0, lines.get(1).length() / 2), StandardCharsets.UTF_8);
        Files.delete(out.resolve("metrics.json"));
        Run resumed = cli(cmd);
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("1 of 4 images already scored"), resumed.err());
        assertArrayEquals(once, Files.readAllBytes(out.resolve("metrics.json")));
        assertEquals(4, Files.readAllLines(log).size());
        List<String> otherThreads = new ArrayList<>(List.of(cmd));
        otherThreads.addAll(List.of("--threads", "1")); // changes no prediction: the kept results still apply
        Run again = cli(otherThreads.toArray(String[]::new));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("4 of 4 images already scored"), again.err());
        assertFalse(again.err().contains("img/s"), "nothing to score: " + again.err());
        assertArrayEquals(once, Files.readAllBytes(out.resolve("metrics.json")));
        // Another evaluation into the same folder must not mix with the kept results.
        Run other = cli(args("eval", "--dataset", "voc", "--root", dir.resolve("data").toString(), "--out", out.toString()));
        assertEquals(2, other.code());
        assertTrue(other.err().contains("holds results of a different evaluation (labels differ)"), other.err());
        Run count = cli(args("eval", "--dataset", "voc", "--root", dir.resolve("data").toString(), "--labels", "a,b", "--out", out.toString()));
        assertEquals(2, count.code());
        assertTrue(count.err().contains("--labels gives 2 names for the 21 classes of voc"), count.err());
    }

    /**
     * COCO panoptic, hand-computed: image A is a red thing (one instance) left and blue stuff
     * right, matched exactly; image B has two red instances side by side, which a semantic
     * pipeline merges into one segment of IoU 1/2 with each: no match, 1 FP and 2 FN. Red: TP 1,
     * FP 1, FN 2 -> PQ = IoU_A / 2.5, RQ 0.4; blue: PQ = SQ = RQ ≈ 1. A category that appears
     * nowhere ("tree") is left out of the averages.
     */
    @Test
    void cocoPanopticPqHandComputed(@TempDir Path dir) throws Exception {
        Path root = dir.resolve("coco");
        Files.createDirectories(root.resolve("val2017"));
        Files.createDirectories(root.resolve("annotations/panoptic_val2017"));
        int w = 64, h = 64;
        StringBuilder anns = new StringBuilder();
        for (int n = 0; n < 2; n++) {
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            BufferedImage pan = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    boolean left = x < 32;
                    img.setRGB(x, y, left ? 0xFF0000 : 0x0000FF);
                    int id = !left ? 300 : n == 1 && y >= 32 ? 7 : 5; // blue stuff 300 (G byte used); red 5, and 7 in image B
                    pan.setRGB(x, y, ((id & 0xff) << 16) | (((id >> 8) & 0xff) << 8) | ((id >> 16) & 0xff));
                }
            }
            String name = "00000000000" + n;
            ImageIO.write(img, "png", root.resolve("val2017/" + name + ".png").toFile());
            ImageIO.write(pan, "png", root.resolve("annotations/panoptic_val2017/" + name + ".png").toFile());
            String red = n == 0 ? "{\"id\":5,\"category_id\":1,\"iscrowd\":0,\"area\":2048}"
                    : "{\"id\":5,\"category_id\":1,\"iscrowd\":0,\"area\":1024},{\"id\":7,\"category_id\":1,\"iscrowd\":0,\"area\":1024}";
            anns.append(n == 0 ? "" : ",").append("{\"image_id\":").append(n).append(",\"file_name\":\"").append(name)
                    .append(".png\",\"segments_info\":[").append(red).append(",{\"id\":300,\"category_id\":90,\"iscrowd\":0,\"area\":2048}]}");
        }
        String json = "{\"images\":[{\"id\":0,\"file_name\":\"000000000000.png\"},{\"id\":1,\"file_name\":\"000000000001.png\"}],"
                + "\"annotations\":[" + anns + "],\"categories\":[{\"id\":1,\"name\":\"red\",\"isthing\":1},"
                + "{\"id\":90,\"name\":\"blue\",\"isthing\":0},{\"id\":184,\"name\":\"tree\",\"isthing\":0}]}";
        Files.writeString(root.resolve("annotations/panoptic_val2017.json"), json);
        Path out = dir.resolve("out");
        Run run = cli(args("eval", "--dataset", "coco-panoptic", "--root", root.toString(), "--out", out.toString()));
        assertEquals(0, run.code(), run.err());
        JsonNode p = new ObjectMapper().readTree(out.resolve("metrics.json").toFile()).get("panoptic");
        JsonNode red = p.get("per_class").get(0), blue = p.get("per_class").get(1), tree = p.get("per_class").get(2);
        assertEquals(List.of(1L, 1L, 2L), List.of(red.get("tp").asLong(), red.get("fp").asLong(), red.get("fn").asLong()), red.toString());
        assertEquals(List.of(2L, 0L, 0L), List.of(blue.get("tp").asLong(), blue.get("fp").asLong(), blue.get("fn").asLong()), blue.toString());
        assertFalse(tree.get("counted").asBoolean());
        assertEquals(0.4, red.get("rq").asDouble(), 1e-12);
        assertEquals(red.get("sq").asDouble() / 2.5, red.get("pq").asDouble(), 1e-12);
        assertTrue(red.get("sq").asDouble() > 0.95, "image A's red is found: " + red);
        assertTrue(blue.get("pq").asDouble() > 0.95, blue.toString());
        assertEquals(2, p.get("All").get("n").asInt());
        assertEquals((red.get("pq").asDouble() + blue.get("pq").asDouble()) / 2, p.get("All").get("pq").asDouble(), 1e-12);
        assertEquals(red.get("pq").asDouble(), p.get("Things").get("pq").asDouble(), 1e-15);
        assertEquals(blue.get("pq").asDouble(), p.get("Stuff").get("pq").asDouble(), 1e-15);
        assertTrue(run.out().contains("Things"), run.out());
    }

    /** Folders of images and 16-bit masks; an image without a mask is one error line before any model loads. */
    @Test
    void foldersWith16BitMasksAndBadInput(@TempDir Path dir) throws Exception {
        Path images = Files.createDirectories(dir.resolve("images")), masks = Files.createDirectories(dir.resolve("masks"));
        Scenes.Scene s = Scenes.generate(9, 48, 40, new int[] {0, 2}, 2);
        s.write(images.resolve("a.png"));
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < 300; i++) labels.add("word " + i);
        labels.set(0, "red");
        labels.set(299, "blue");
        BufferedImage mask = new BufferedImage(s.width(), s.height(), BufferedImage.TYPE_USHORT_GRAY);
        for (int i = 0; i < s.truth().length; i++) mask.getRaster().setSample(i % s.width(), i / s.width(), 0, s.truth()[i] == 0 ? 0 : 299);
        ImageIO.write(mask, "png", masks.resolve("a.png").toFile());
        Path out = dir.resolve("out");
        Run run = cli(args("eval", "--images", images.toString(), "--masks", masks.toString(), "--labels", String.join(",", labels), "--out",
                out.toString()));
        assertEquals(0, run.code(), run.err());
        JsonNode m = new ObjectMapper().readTree(out.resolve("metrics.json").toFile()).get("semantic");
        assertEquals(2, m.get("classes_in_mIoU").asInt(), m.toString());
        assertTrue(m.get("per_class").get(299).get("IoU").asDouble() > 0.8, m.toString());
        BufferedImage pred = ImageIO.read(out.resolve("predictions/a.png").toFile());
        assertEquals(16, pred.getColorModel().getComponentSize(0));

        s.write(images.resolve("b.png"));
        Path out2 = dir.resolve("out2");
        Run missing = cli(args("eval", "--images", images.toString(), "--masks", masks.toString(), "--labels", "red,blue", "--out", out2.toString()));
        assertEquals(2, missing.code());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().contains("has no mask"), missing.err());
        assertFalse(Files.exists(out2), "nothing written for a run that cannot start");
        Run bad = cli(args("eval", "--dataset", "voc", "--root", dir.toString(), "--out", out2.toString()));
        assertEquals(2, bad.code());
        assertTrue(bad.err().startsWith("error: no JPEGImages in"), bad.err());
    }

    /** An image whose annotation has another size fails on its own line; no metrics until a rerun scores it (and only it). */
    @Test
    void aFailedImageBlocksTheMetricsUntilARerunScoresIt(@TempDir Path dir) throws Exception {
        Path images = Files.createDirectories(dir.resolve("images")), masks = Files.createDirectories(dir.resolve("masks"));
        Scenes.Scene s = Scenes.generate(11, 48, 40, new int[] {0, 2}, 2);
        s.write(images.resolve("a.png"));
        s.write(images.resolve("b.png"));
        BufferedImage good = new BufferedImage(48, 40, BufferedImage.TYPE_BYTE_GRAY), small = new BufferedImage(40, 40, BufferedImage.TYPE_BYTE_GRAY);
        for (int i = 0; i < s.truth().length; i++) good.getRaster().setSample(i % 48, i / 48, 0, s.truth()[i] == 0 ? 0 : 1);
        ImageIO.write(good, "png", masks.resolve("a.png").toFile());
        ImageIO.write(small, "png", masks.resolve("b.png").toFile());
        Path out = dir.resolve("out");
        String[] cmd = args("eval", "--images", images.toString(), "--masks", masks.toString(), "--labels", "red,blue", "--out", out.toString());
        Run first = cli(cmd);
        assertEquals(2, first.code());
        assertTrue(first.err().contains("b.png: annotation " + masks.resolve("b.png") + " is 40x40, the image 48x40"), first.err());
        assertFalse(Files.exists(out.resolve("metrics.json")));
        assertEquals(1, Files.readAllLines(out.resolve("per-image.jsonl")).size());
        ImageIO.write(good, "png", masks.resolve("b.png").toFile());
        Run second = cli(cmd);
        assertEquals(0, second.code(), second.err());
        assertTrue(second.err().contains("1 of 2 images already scored"), second.err());
        JsonNode m = new ObjectMapper().readTree(out.resolve("metrics.json").toFile());
        assertEquals(2, m.get("images").asInt());
        assertEquals(2L * 48 * 40, m.get("semantic").get("per_class").get(0).get("label_area").asLong()
                + m.get("semantic").get("per_class").get(1).get("label_area").asLong());
    }

    /** mmsegmentation's uint8 arithmetic: 0 -> 255 -> 254 -> 255, 255 -> 254 -> 255, v -> v - 1; 16-bit masks alike with 65535. */
    @Test
    void reduceZeroLabelAsMmsegmentation() {
        assertArrayEquals(new int[] {255, 0, 1, 148, 253, 255}, EvalCommand.reduceZeroLabel(new int[] {0, 1, 2, 149, 254, 255}, 255));
        // 16-bit masks: the same rule with 65535, so value 255 is class 254, not void
        assertArrayEquals(new int[] {65535, 254, 299, 65535}, EvalCommand.reduceZeroLabel(new int[] {0, 255, 300, 65535}, 65535));
    }

    private static int[] samples(BufferedImage img) {
        int[] v = new int[img.getWidth() * img.getHeight()];
        img.getRaster().getSamples(0, 0, img.getWidth(), img.getHeight(), 0, v);
        return v;
    }
}
