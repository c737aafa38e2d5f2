package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ovseg.eval.PanopticCategory;
import org.ovseg.eval.PanopticImage;
import org.ovseg.eval.PanopticQuality;
import org.ovseg.eval.PanopticSegment;
import org.ovseg.image.RgbImage;

/**
 * ODISE end to end on {@code builtin:colour-world-odise}: generated scenes of flat regions of the
 * eight colour words (a background and up to three rectangles, each colour once), all eight words
 * requested, two of them as stuff. Checked against the scene's own truth: semantic mIoU ≥ 0.9,
 * PQ ≥ 0.85 (the project's COCO-style PQ), every id of the panoptic map listed in the segments,
 * segment areas equal to their pixel counts, absent colours never painted.
 */
class OdiseDemoTest {
    static final List<String> WORDS = List.of("red", "green", "blue", "yellow", "cyan", "magenta", "white", "black");
    static final int[] RGB = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF, 0xFFFFFF, 0x000000};

    @TempDir
    static Path cache;

    private static Segmenter segmenter;

    @BeforeAll
    static void open() {
        segmenter = Segmenter.builder().model("builtin:colour-world-odise").cacheDir(cache).build();
    }

    @AfterAll
    static void close() {
        segmenter.close();
    }

    /** A scene: colour index per pixel and region id per pixel (1-based, 0 unused). */
    record Scene(RgbImage image, int[] colour, int[] region, List<Integer> regionColour) {}

    static Scene scene(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        // Sizes whose resize to short side 256 lands on or near a multiple of 64, some with remainders.
        int[][] sizes = {{128, 160}, {96, 160}, {200, 250}, {130, 161}, {160, 96}, {257, 321}};
        int[] hw = sizes[(int) (seed % sizes.length)];
        int H = hw[0], W = hw[1];
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 8; i++) order.add(i);
        Collections.shuffle(order, new java.util.Random(seed));
        int n = 1 + r.nextInt(3);
        int[] colour = new int[H * W], region = new int[H * W];
        List<Integer> regionColour = new ArrayList<>();
        regionColour.add(-1);
        java.util.Arrays.fill(colour, order.get(0));
        java.util.Arrays.fill(region, 1);
        regionColour.add(order.get(0));
        // Rectangles in disjoint vertical bands so that every region stays one connected piece.
        for (int i = 0; i < n; i++) {
            int bandW = W / n, x0 = i * bandW + r.nextInt(Math.max(1, bandW / 6)), x1 = (i + 1) * bandW - r.nextInt(Math.max(1, bandW / 6));
            int y0 = r.nextInt(H / 4), y1 = H - r.nextInt(H / 4);
            int c = order.get(i + 1), id = i + 2;
            regionColour.add(c);
            for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) {
                colour[y * W + x] = c;
                region[y * W + x] = id;
            }
        }
        byte[] rgb = new byte[H * W * 3];
        for (int p = 0; p < H * W; p++) {
            int v = RGB[colour[p]];
            rgb[3 * p] = (byte) (v >> 16);
            rgb[3 * p + 1] = (byte) (v >> 8);
            rgb[3 * p + 2] = (byte) v;
        }
        return new Scene(new RgbImage(W, H, rgb), colour, region, regionColour);
    }

    @org.junit.jupiter.api.Test
    void aLabelsBestSynonymSpeaksForIt() {
        Scene s = scene(3);
        int present = s.regionColour().get(1);
        String word = WORDS.get(present);
        // "gold" and "crimson" are no colour words for the demo text encoder: only the real word can match.
        List<String> labels = new ArrayList<>();
        labels.add("gold|" + word + "|crimson");
        for (String w : WORDS) if (!w.equals(word)) labels.add(w);
        SegmentationResult res = segmenter.segment(s.image(), Labels.of(labels));
        double frac = res.pixelFraction(0);
        long truth = java.util.Arrays.stream(s.colour()).filter(c -> c == present).count();
        assertTrue(Math.abs(frac - (double) truth / s.colour().length) < 0.05, "label 0 covers " + frac + ", its region " + truth);
        assertTrue(res.segments().stream().anyMatch(seg -> seg.labelIndex() == 0), "no segment for the synonym label");
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void everyRegionBecomesOneSegment(long seed) {
        Scene s = scene(seed);
        int W = s.image().width(), H = s.image().height();
        List<String> order = new ArrayList<>(WORDS);
        Collections.shuffle(order, new java.util.Random(seed * 31));
        List<String> things = order.subList(0, 6), stuff = order.subList(6, 8);
        SegmentationResult res = segmenter.segmentWithStuff(s.image(), Labels.of(things), Labels.of(stuff));
        assertEquals("odise", res.pipeline());
        List<String> labels = res.labels();
        int[] wordOfLabel = new int[labels.size()];
        for (int i = 0; i < labels.size(); i++) wordOfLabel[i] = WORDS.indexOf(labels.get(i));

        Set<Integer> present = new HashSet<>(s.regionColour().subList(1, s.regionColour().size()));
        // Semantic mIoU over the colours present.
        int[] map = res.labelMap();
        long[] inter = new long[8], union = new long[8];
        for (int p = 0; p < H * W; p++) {
            int pred = map[p] < 0 ? -1 : wordOfLabel[map[p]], truth = s.colour()[p];
            if (pred >= 0 && !present.contains(pred)) throw new AssertionError("absent colour " + WORDS.get(pred) + " painted at pixel " + p);
            if (pred == truth) inter[truth]++;
            union[truth]++;
            if (pred >= 0 && pred != truth) union[pred]++;
        }
        double miou = 0;
        for (int c : present) miou += (double) inter[c] / union[c];
        miou /= present.size();
        assertTrue(miou >= 0.9, "mIoU " + miou + " on seed " + seed);

        // Panoptic: ids listed, areas exact, absent colours absent.
        int[] ids = res.panopticIds();
        Map<Integer, Long> counts = new HashMap<>();
        for (int id : ids) if (id != 0) counts.merge(id, 1L, Long::sum);
        Map<Integer, Segment> byId = new HashMap<>();
        for (Segment seg : res.segments()) byId.put(seg.id(), seg);
        assertEquals(counts.keySet(), byId.keySet(), "ids in panoptic.png vs segments_info");
        for (Segment seg : res.segments()) {
            assertEquals((long) counts.get(seg.id()), seg.area(), "area of segment " + seg.id());
            assertTrue(present.contains(wordOfLabel[seg.labelIndex()]), "segment of absent colour " + seg.label());
            assertEquals(seg.labelIndex() < things.size(), seg.isThing(), "thing flag of " + seg.label());
        }

        // PQ against the scene's regions (category = colour word index).
        List<PanopticSegment> gt = new ArrayList<>(), pred = new ArrayList<>();
        long[] regionArea = new long[s.regionColour().size()];
        for (int id : s.region()) regionArea[id]++;
        for (int id = 1; id < s.regionColour().size(); id++) gt.add(new PanopticSegment(id, s.regionColour().get(id), false, regionArea[id]));
        for (Segment seg : res.segments()) pred.add(new PanopticSegment(seg.id(), wordOfLabel[seg.labelIndex()], false, seg.area()));
        List<PanopticCategory> cats = new ArrayList<>();
        Set<Integer> catIds = new HashSet<>();
        for (int c = 0; c < 8; c++) {
            cats.add(new PanopticCategory(c, WORDS.get(c), things.contains(WORDS.get(c))));
            catIds.add(c);
        }
        PanopticQuality pq = new PanopticQuality(cats);
        pq.add(PanopticImage.of(s.region(), gt, ids, pred, catIds));
        double all = pq.result().all().pq();
        assertTrue(all >= 0.85, "PQ " + all + " on seed " + seed + " (" + pq.result().perCategory() + ")");
    }
    /**
     * Mask2Former's instance inference beside panoptic: every thing colour present has an instance
     * whose mask matches that colour's pixels (IoU ≥ 0.8), no instance has a stuff label, scores lie
     * in [0, 1] highest first, at most 100, and each mask's area and box agree with its pixels.
     */
    @ParameterizedTest
    @ValueSource(longs = {1, 4, 7})
    void thingInstancesCoverTheirColours(long seed) {
        Scene s = scene(seed);
        int W = s.image().width(), H = s.image().height();
        List<String> order = new ArrayList<>(WORDS);
        Collections.shuffle(order, new java.util.Random(seed * 17));
        List<String> things = order.subList(0, 6), stuff = order.subList(6, 8);
        SegmentationResult res = segmenter.segmentWithStuff(s.image(), Labels.of(things), Labels.of(stuff));
        var instances = res.instances();
        assertTrue(!instances.isEmpty() && instances.size() <= 100, "instances: " + instances.size());
        for (int i = 0; i < instances.size(); i++) {
            var in = instances.get(i);
            assertTrue(in.labelIndex() < things.size(), "instance of stuff label " + in.label());
            assertTrue(in.score() >= 0 && in.score() <= 1, "score " + in.score());
            if (i > 0) assertTrue(instances.get(i - 1).score() >= in.score(), "sorted by score");
            long area = 0;
            int x0 = W, y0 = H, x1 = -1, y1 = -1;
            for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) if (in.mask().contains(x, y)) {
                area++;
                x0 = Math.min(x0, x);
                y0 = Math.min(y0, y);
                x1 = Math.max(x1, x);
                y1 = Math.max(y1, y);
            }
            assertEquals(area, in.mask().area());
            if (area > 0) assertEquals(new BoundingBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1), in.bbox());
        }
        Set<Integer> present = new HashSet<>(s.regionColour().subList(1, s.regionColour().size()));
        for (int t = 0; t < things.size(); t++) {
            int colour = WORDS.indexOf(things.get(t));
            if (!present.contains(colour)) continue;
            double best = 0;
            for (var in : instances) {
                if (in.labelIndex() != t) continue;
                long inter = 0, uni = 0;
                for (int p = 0; p < W * H; p++) {
                    boolean a = in.mask().contains(p % W, p / W), b = s.colour()[p] == colour;
                    if (a && b) inter++;
                    if (a || b) uni++;
                }
                best = Math.max(best, uni == 0 ? 0 : (double) inter / uni);
            }
            assertTrue(best >= 0.8, things.get(t) + ": best instance IoU " + best + " on seed " + seed);
        }
    }
}
