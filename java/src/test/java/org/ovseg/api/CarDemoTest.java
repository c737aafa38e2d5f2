package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ovseg.image.RgbImage;

/**
 * CLIP-as-RNN end to end on the built-in demonstration model: generated scenes holding 2 of the
 * 6 requested colours. The 4 absent colours must be pruned by the recurrence within a few steps
 * and never painted; after the CRF the two present colours (and the grey background, where there
 * is one) must reach mIoU ≥ 0.9 against the scene's truth.
 */
class CarDemoTest {
    private static final List<String> COLOURS = UserScenes.COLOURS;
    private static final int[] RGB = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF};
    private static final int GREY = UserScenes.GREY;

    @TempDir
    static Path cache;

    private static Segmenter segmenter;

    @BeforeAll
    static void open() {
        segmenter = Segmenter.builder().model("builtin:colour-world-car").cacheDir(cache).build();
    }

    @AfterAll
    static void close() {
        segmenter.close();
    }

    /**
     * Seeds choose the two colours, the layout (one colour as background with one or two shapes
     * of the other, or both as shapes on grey) and odd image sizes, so that patch grids, resizes
     * and the classifier's crop all have remainders.
     */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void absentColoursArePrunedAndPresentOnesSegmented(long seed) {
        Scene s = scene(seed);
        List<String> labels = new ArrayList<>(COLOURS);
        Collections.shuffle(labels, new java.util.Random(seed));
        SegmentationResult r = segmenter.segment(s.image(), Labels.of(labels));
        assertEquals("car", r.pipeline());

        Set<String> present = new TreeSet<>();
        for (int c : s.colours()) present.add(COLOURS.get(c));
        List<Map<String, Object>> steps = r.steps();
        assertTrue(steps.size() <= 4, "recurrence took " + steps.size() + " steps");
        @SuppressWarnings("unchecked")
        List<String> finalKept = (List<String>) steps.get(steps.size() - 1).get("kept");
        assertEquals(present, new TreeSet<>(finalKept), "surviving queries; steps " + steps);
        assertEquals(steps.get(steps.size() - 1).get("queries"), finalKept, "the last step must be a fixed point");

        // Absent colours: no pixel.
        for (int i = 0; i < labels.size(); i++) {
            if (!present.contains(labels.get(i))) assertEquals(0.0, r.pixelFraction(i), labels.get(i) + " painted");
        }
        // mIoU over the truth's classes: the two colours, and the grey background if any.
        StringBuilder report = new StringBuilder();
        double miou = UserScenes.miou(s.truth(), s.width(), s.height(), s.classes(), r, labels, report)[0];
        assertTrue(miou >= 0.9, "mIoU " + miou + " (" + report + ") on " + s.width() + "x" + s.height());
    }

    /**
     * Queries run in chunks under a memory budget (here one per Grad-CAM run, the others joining
     * the background) give the same recurrence and the same proposals as one batched run.
     */
    @org.junit.jupiter.api.Test
    void chunkedGradCamRunsGiveTheSameProposals() {
        Scene s = scene(2);
        Labels labels = Labels.of(COLOURS);
        SegmentationResult one, chunked;
        try (Segmenter all = Segmenter.builder().model("builtin:colour-world-car").cacheDir(cache).carGradCamMemory(0).keepLogits(true).build();
                Segmenter each = Segmenter.builder().model("builtin:colour-world-car").cacheDir(cache).carGradCamMemory(1).keepLogits(true).build()) {
            one = all.segment(s.image(), labels);
            chunked = each.segment(s.image(), labels);
        }
        assertEquals(one.steps().size(), chunked.steps().size());
        for (int i = 0; i < one.steps().size(); i++) {
            assertEquals(one.steps().get(i).get("kept"), chunked.steps().get(i).get("kept"), "step " + i);
        }
        float[] a = one.logits().orElseThrow(), b = chunked.logits().orElseThrow();
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4, "proposal value " + i);
        int differ = 0;
        for (int i = 0; i < one.labelMap().length; i++) if (one.labelMap()[i] != chunked.labelMap()[i]) differ++;
        assertTrue(differ <= one.labelMap().length / 1000, differ + " labels differ");
    }

    /**
     * Scenes as a new user would draw them ({@link UserScenes}: 2–5 of the 6 requested colours,
     * shapes from 72 px to half the image, anywhere the classifier's crop sees, overlapping), on
     * seeds no setting was chosen on: absent colours pruned, mIoU ≥ 0.9. The built-in bundle asks
     * for the exact CRF image (measured on 100 other seeds, 25 per colour count: mIoU 0.990–1.000);
     * with the official wrapped one these 8 scenes give 0.891–1.000, two below 0.9 (saturated
     * colours wrap onto nearby bytes and the bilateral kernel blurs across their edges).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"17,2", "29,2", "41,3", "53,3", "67,4", "79,4", "83,5", "97,5"})
    void userScenesArePrunedAndSegmented(long seed, int colours) {
        UserScenes.Scene s = UserScenes.generate(seed, colours);
        List<String> labels = new ArrayList<>(COLOURS);
        Collections.shuffle(labels, new java.util.Random(seed));
        SegmentationResult r = segmenter.segment(s.image(), Labels.of(labels));
        @SuppressWarnings("unchecked")
        List<String> kept = (List<String>) r.steps().get(r.steps().size() - 1).get("kept");
        assertEquals(s.presentColours(), new TreeSet<>(kept), "surviving queries; steps " + r.steps());
        StringBuilder report = new StringBuilder();
        double miou = UserScenes.miou(s, r, labels, report)[0];
        assertTrue(miou >= 0.9, "mIoU " + miou + " (" + report + ") on " + s.width() + "x" + s.height());
    }

    @org.junit.jupiter.api.Test
    void builtInBundleAsksForTheExactCrfImageAndUnknownValuesAreRejected() throws Exception {
        Path dir = org.ovseg.bundle.builtin.BuiltinBundles.resolve("builtin:colour-world-car", cache);
        String manifest = java.nio.file.Files.readString(dir.resolve("bundle.json"));
        assertTrue(manifest.contains("\"car_crf_image\" : \"exact\""), manifest);
        Path copy = cache.resolve("bad-crf-image");
        java.nio.file.Files.createDirectories(copy);
        try (var files = java.nio.file.Files.list(dir)) {
            for (Path f : files.toList()) java.nio.file.Files.copy(f, copy.resolve(f.getFileName()));
        }
        java.nio.file.Files.writeString(copy.resolve("bundle.json"), manifest.replace("\"exact\"", "\"sharp\""));
        org.ovseg.bundle.BundleException e = org.junit.jupiter.api.Assertions.assertThrows(org.ovseg.bundle.BundleException.class,
                () -> Segmenter.builder().model(copy.toString()).cacheDir(cache).build().close());
        assertTrue(e.getMessage().endsWith("bundle.json: defaults.car_crf_image: must be \"official\" or \"exact\", is \"sharp\""), e.getMessage());
    }

    /**
     * A generated 40 MP photo (7303×5477) through the demo end to end: the recurrence and CRF run
     * at 2048² at most, the label map comes back full size, in a 2 GB test heap; the kept
     * proposal maps (keepLogits) come back at full size too, bilinear from the working size.
     */
    @org.junit.jupiter.api.Test
    void fortyMegapixelSceneIsSegmentedAtFullSize() {
        int W = 7303, H = 5477;
        int a = 2, b = 3; // blue ellipse, yellow rectangle on grey
        byte[] truth = new byte[W * H];
        java.util.Arrays.fill(truth, (byte) GREY);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                double dx = (x - 0.3 * W) / (0.18 * W), dy = (y - 0.5 * H) / (0.3 * H);
                if (dx * dx + dy * dy <= 1) truth[y * W + x] = (byte) a;
                else if (x >= 0.55 * W && x < 0.8 * W && y >= 0.3 * H && y < 0.75 * H) truth[y * W + x] = (byte) b;
            }
        }
        byte[] rgb = new byte[W * H * 3];
        for (int p = 0; p < W * H; p++) {
            int c = truth[p] == GREY ? 0x808080 : RGB[truth[p]];
            rgb[3 * p] = (byte) (c >> 16);
            rgb[3 * p + 1] = (byte) (c >> 8);
            rgb[3 * p + 2] = (byte) c;
        }
        List<String> labels = List.of("red", "blue", "yellow");
        SegmentationResult r;
        try (Segmenter withLogits = Segmenter.builder().model("builtin:colour-world-car").cacheDir(cache).keepLogits(true).build()) {
            r = withLogits.segment(new RgbImage(W, H, rgb), Labels.of(labels));
        }
        rgb = null;
        float[] logits = r.logits().orElseThrow();
        assertEquals(2L * W * H, logits.length, "blue's and yellow's proposal maps, full size");
        @SuppressWarnings("unchecked")
        List<String> kept = (List<String>) r.steps().get(r.steps().size() - 1).get("kept");
        int blue = kept.indexOf("blue");
        long centre = (long) (H / 2) * W + (int) (0.3 * W), corner = 10L * W + 10;
        assertTrue(logits[(int) (blue * (long) W * H + centre)] > 0.5f, "blue's map at the ellipse's centre");
        assertTrue(logits[(int) (blue * (long) W * H + corner)] < 0.5f, "blue's map in the grey corner");
        assertEquals(W, r.width());
        assertEquals(H, r.height());
        assertEquals(0.0, r.pixelFraction(0), "red is absent");
        double sum = 0;
        for (int cls : new int[] {GREY, a, b}) {
            int label = cls == GREY ? SegmentationResult.UNASSIGNED : labels.indexOf(COLOURS.get(cls));
            long inter = 0, union = 0;
            for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) {
                boolean t = truth[y * W + x] == cls, p = r.labelAt(x, y) == label;
                if (t && p) inter++;
                if (t || p) union++;
            }
            sum += (double) inter / union;
        }
        assertTrue(sum / 3 >= 0.9, "mIoU " + sum / 3);
    }

    // ---------------------------------------------------------------------------------- scenes

    /** @param classes truth classes present: colour indices, and GREY for a grey background */
    record Scene(RgbImage image, int[] truth, int[] colours, Set<Integer> classes) {
        int width() {
            return image.width();
        }

        int height() {
            return image.height();
        }
    }

    /**
     * Shapes keep to the middle 60% of the long side: the classifier sees the short-side-224
     * centre crop (as CLIP's preprocessing does), and a region it cannot see cannot be confirmed.
     */
    static Scene scene(long seed) {
        SplittableRandom r = new SplittableRandom(seed * 7919);
        int[][] sizes = {{320, 288}, {333, 301}, {257, 389}, {401, 263}, {300, 300}, {359, 347}};
        int W = sizes[(int) ((seed - 1) % sizes.length)][0], H = sizes[(int) ((seed - 1) % sizes.length)][1];
        int a = r.nextInt(6), b = (a + 1 + r.nextInt(5)) % 6;
        boolean onGrey = seed % 2 == 0;
        int[] truth = new int[W * H];
        java.util.Arrays.fill(truth, onGrey ? GREY : a);
        int x0 = W > H ? (int) (0.2 * W) : 0, x1 = W > H ? (int) (0.8 * W) : W;
        int y0 = H > W ? (int) (0.2 * H) : 0, y1 = H > W ? (int) (0.8 * H) : H;
        if (onGrey) {
            // One shape of each colour, side by side along the long axis.
            boolean horizontal = x1 - x0 >= y1 - y0;
            int mid = horizontal ? (x0 + x1) / 2 : (y0 + y1) / 2;
            shape(truth, W, r, a, horizontal ? x0 : x0, horizontal ? mid : x1, horizontal ? y0 : y0, horizontal ? y1 : mid);
            shape(truth, W, r, b, horizontal ? mid : x0, horizontal ? x1 : x1, horizontal ? y0 : mid, horizontal ? y1 : y1);
        } else {
            int n = 1 + r.nextInt(2);
            for (int i = 0; i < n; i++) shape(truth, W, r, b, x0, x1, y0, y1);
        }
        byte[] rgb = new byte[W * H * 3];
        Set<Integer> classes = new TreeSet<>();
        for (int p = 0; p < W * H; p++) {
            int c = truth[p] == GREY ? 0x808080 : RGB[truth[p]];
            rgb[3 * p] = (byte) (c >> 16);
            rgb[3 * p + 1] = (byte) (c >> 8);
            rgb[3 * p + 2] = (byte) c;
            classes.add(truth[p]);
        }
        return new Scene(new RgbImage(W, H, rgb), truth, new int[] {a, b}, classes);
    }

    /** A rectangle or ellipse of colour c, 35–80% of the box's sides, inside [x0,x1)×[y0,y1). */
    private static void shape(int[] truth, int W, SplittableRandom r, int c, int x0, int x1, int y0, int y1) {
        int bw = x1 - x0, bh = y1 - y0;
        int w = (int) (bw * (0.35 + 0.45 * r.nextDouble())), h = (int) (bh * (0.35 + 0.45 * r.nextDouble()));
        int sx = x0 + r.nextInt(bw - w + 1), sy = y0 + r.nextInt(bh - h + 1);
        boolean ellipse = r.nextBoolean();
        for (int y = sy; y < sy + h; y++) {
            for (int x = sx; x < sx + w; x++) {
                double dx = (x + 0.5 - sx - w / 2.0) / (w / 2.0), dy = (y + 0.5 - sy - h / 2.0) / (h / 2.0);
                if (!ellipse || dx * dx + dy * dy <= 1) truth[y * W + x] = c;
            }
        }
    }
}
