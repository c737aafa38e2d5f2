package org.ovseg.pipeline.ovsegmentor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.image.RgbImage;

/**
 * Known answers on generated scenes with {@code builtin:colour-world-ovseg}: regions of the eight
 * colours (corners of the RGB cube, with pixel noise) on odd-sized images, so the rescale to a short
 * side of 448, the sliding window and the patch grid all have remainders. The truth is the colour
 * of each pixel; its label is that colour's index in the (shuffled) label list, or −1 (background)
 * when the colour is not among the labels. mIoU over the classes in the truth ≥ 0.85; labels whose
 * colour is absent from the scene cover ≤ 1% of the pixels.
 */
class OvSegmentorDemoTest {
    static final List<String> COLOURS = List.of("red", "green", "blue", "yellow", "cyan", "magenta", "white", "black");
    static final int[][] RGB = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {0, 255, 255}, {255, 0, 255}, {255, 255, 255}, {0, 0, 0}};

    @TempDir
    static Path cache;
    private static Segmenter segmenter;

    @BeforeAll
    static void open() {
        segmenter = Segmenter.builder().model("builtin:colour-world-ovseg").cacheDir(cache).build();
    }

    @AfterAll
    static void close() {
        segmenter.close();
    }

    /** A scene: a background colour and two or three rectangles of other colours, each ≥ 70 px a side. */
    record Scene(RgbImage image, int[] colourAt, TreeSet<Integer> present) {}

    static Scene scene(long seed) {
        Random r = new Random(seed);
        int w = 230 + r.nextInt(200), h = 200 + r.nextInt(150);
        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7));
        Collections.shuffle(order, r);
        int[] colour = new int[w * h];
        java.util.Arrays.fill(colour, order.get(0));
        int shapes = 2 + r.nextInt(2);
        for (int s = 1; s <= shapes; s++) {
            int rw = 70 + r.nextInt(w / 2 - 60), rh = 70 + r.nextInt(h / 2 - 60);
            int x0 = r.nextInt(w - rw), y0 = r.nextInt(h - rh);
            for (int y = y0; y < y0 + rh; y++) for (int x = x0; x < x0 + rw; x++) colour[y * w + x] = order.get(s);
        }
        byte[] rgb = new byte[w * h * 3];
        TreeSet<Integer> present = new TreeSet<>();
        for (int i = 0; i < w * h; i++) {
            present.add(colour[i]);
            for (int c = 0; c < 3; c++) {
                int v = RGB[colour[i]][c] + r.nextInt(41) - 20;
                rgb[i * 3 + c] = (byte) Math.max(0, Math.min(255, v));
            }
        }
        return new Scene(new RgbImage(w, h, rgb), colour, present);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void everyColourWordFindsItsRegionsWithAllEightWordsShuffled(long seed) {
        Scene s = scene(seed);
        List<String> labels = new ArrayList<>(COLOURS);
        Collections.shuffle(labels, new Random(100 + seed));
        check(s, labels);
    }

    /** A colour of the scene missing from the labels becomes background; absent colours as labels stay unused. */
    @ParameterizedTest
    @ValueSource(longs = {7, 8, 9})
    void aColourLeftOutOfTheLabelsIsBackground(long seed) {
        Scene s = scene(seed);
        List<Integer> present = new ArrayList<>(s.present());
        List<String> labels = new ArrayList<>();
        for (int i = 1; i < present.size(); i++) labels.add(COLOURS.get(present.get(i))); // drop the first present colour
        for (int c = 0; c < COLOURS.size() && labels.size() < present.size() + 1; c++) {
            if (!s.present().contains(c)) labels.add(COLOURS.get(c));
        }
        Collections.shuffle(labels, new Random(200 + seed));
        check(s, labels);
    }

    private static void check(Scene s, List<String> labels) {
        SegmentationResult r = segmenter.segment(s.image(), Labels.of(labels));
        assertEquals("ovsegmentor", r.pipeline());
        int[] pred = r.labelMap();
        int n = pred.length;
        int[] truth = new int[n];
        for (int i = 0; i < n; i++) truth[i] = labels.indexOf(COLOURS.get(s.colourAt()[i])); // −1: not a label
        TreeSet<Integer> classes = new TreeSet<>();
        for (int t : truth) classes.add(t);
        double sum = 0;
        StringBuilder report = new StringBuilder();
        for (int c : classes) {
            long inter = 0, union = 0;
            for (int i = 0; i < n; i++) {
                boolean p = pred[i] == c, t = truth[i] == c;
                if (p && t) inter++;
                if (p || t) union++;
            }
            double iou = (double) inter / union;
            sum += iou;
            report.append(c < 0 ? "background" : labels.get(c)).append(String.format(" %.3f; ", iou));
        }
        double miou = sum / classes.size();
        long absent = 0;
        for (int p : pred) if (p >= 0 && !classes.contains(p)) absent++;
        assertTrue(miou >= 0.85, "mIoU " + miou + " < 0.85 (" + report + "labels " + labels + ")");
        assertTrue(absent <= 0.01 * n, absent + " of " + n + " pixels took a label absent from the scene (" + labels + ")");
    }
}
