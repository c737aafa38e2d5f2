package org.ovseg.pipeline.xdecoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.image.RgbImage;

/**
 * Known answers of builtin:colour-world-xdecoder through the whole X-Decoder pipeline (backbone,
 * decoder, class embeddings under the 81 templates, official semantic inference, Mask2Former
 * panoptic, grounding): generated scenes of the eight colours, truth drawn by the generator.
 */
class XDecoderDemoTest {
    static final List<String> COLOURS = List.of("red", "green", "blue", "yellow", "cyan", "magenta", "white", "black");
    static final int[] RGB = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF, 0xFFFFFF, 0x000000};
    @TempDir
    static Path cache;
    static Segmenter seg;

    @BeforeAll
    static void open() {
        seg = Segmenter.builder().pipeline("xdecoder").cacheDir(cache).build();
    }

    @AfterAll
    static void close() {
        if (seg != null) seg.close();
    }

    /** A scene: a background colour and 2-4 rectangles/ellipses of other colours (later ones on top). */
    record Scene(RgbImage image, int[] truth, List<Integer> present) {}

    static Scene scene(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int w = 200 + r.nextInt(161), h = 200 + r.nextInt(161);
        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7));
        java.util.Collections.shuffle(order, new java.util.Random(seed));
        int shapes = 2 + r.nextInt(3);
        int[] truth = new int[w * h];
        java.util.Arrays.fill(truth, order.get(0));
        for (int s = 1; s <= shapes; s++) {
            int c = order.get(s);
            int sw = 50 + r.nextInt(w / 2 - 49), sh = 50 + r.nextInt(h / 2 - 49);
            int x0 = r.nextInt(w - sw), y0 = r.nextInt(h - sh);
            boolean ellipse = r.nextBoolean();
            for (int y = y0; y < y0 + sh; y++) {
                for (int x = x0; x < x0 + sw; x++) {
                    double dx = (x + 0.5 - x0 - sw / 2.0) / (sw / 2.0), dy = (y + 0.5 - y0 - sh / 2.0) / (sh / 2.0);
                    if (!ellipse || dx * dx + dy * dy <= 1) truth[y * w + x] = c;
                }
            }
        }
        byte[] rgb = new byte[w * h * 3];
        java.util.TreeSet<Integer> present = new java.util.TreeSet<>();
        for (int p = 0; p < w * h; p++) {
            int v = RGB[truth[p]];
            rgb[3 * p] = (byte) (v >> 16);
            rgb[3 * p + 1] = (byte) (v >> 8);
            rgb[3 * p + 2] = (byte) v;
            present.add(truth[p]);
        }
        return new Scene(new RgbImage(w, h, rgb), truth, List.copyOf(present));
    }

    @Test
    void eightColourWordsFindTheirRegions() {
        Labels labels = Labels.of(COLOURS);
        double sum = 0, worst = 1;
        int n = 0;
        long absent = 0, pixels = 0;
        StringBuilder report = new StringBuilder();
        for (long seed = 1; seed <= 6; seed++) {
            Scene s = scene(seed);
            SegmentationResult r = seg.segment(s.image(), labels);
            int[] map = r.labelMap();
            for (int c : s.present()) {
                long inter = 0, union = 0;
                for (int p = 0; p < map.length; p++) {
                    boolean t = s.truth()[p] == c, q = map[p] == c;
                    if (t && q) inter++;
                    if (t || q) union++;
                }
                double iou = (double) inter / union;
                report.append(COLOURS.get(c)).append(String.format(" %.3f ", iou));
                sum += iou;
                worst = Math.min(worst, iou);
                n++;
            }
            for (int p = 0; p < map.length; p++) if (map[p] >= 0 && !s.present().contains(map[p])) absent++;
            pixels += map.length;
            report.append("| ");
        }
        double miou = sum / n, absentFraction = (double) absent / pixels;
        System.out.printf("colour-world-xdecoder generic: mIoU %.4f (worst %.4f), absent labels %.5f of pixels%n", miou, worst, absentFraction);
        assertTrue(miou >= 0.85, "mIoU " + miou + ": " + report);
        assertTrue(absentFraction <= 0.01, "absent labels cover " + absentFraction + " of the pixels: " + report);
    }

    @Test
    void panopticSegmentsAreTheColourRegions() {
        Scene s = scene(11);
        SegmentationResult r = seg.segment(s.image(), Labels.of(COLOURS));
        assertTrue(r.hasInstances(), "X-Decoder gives Mask2Former's panoptic segments");
        java.util.Set<Integer> seen = new java.util.TreeSet<>();
        for (var segment : r.segments()) {
            seen.add(segment.labelIndex());
            boolean[] m = r.segmentMask(segment.id()).toArray();
            long inside = 0, area = 0;
            for (int p = 0; p < m.length; p++) {
                if (!m[p]) continue;
                area++;
                if (s.truth()[p] == segment.labelIndex()) inside++;
            }
            assertTrue(inside >= 0.95 * area, "segment " + segment + " lies on its colour");
        }
        assertEquals(new java.util.TreeSet<>(s.present()), seen);
    }

    /**
     * Mask2Former's instance inference on the demo: the colours present each have an instance whose
     * mask is their region (IoU ≥ 0.8), every instance with a non-empty mask lies on its colour
     * (≥ 95% of its pixels, when its score is at least 0.5), scores are in [0, 1] and sorted
     * (descending) as the JSON reports them, and with stuff named only thing classes remain.
     */
    @Test
    void instancesCoverTheirColourRegions() {
        for (long seed = 41; seed <= 43; seed++) {
            Scene s = scene(seed);
            SegmentationResult r = seg.segment(s.image(), Labels.of(COLOURS));
            var instances = r.instances();
            assertTrue(!instances.isEmpty() && instances.size() <= Postprocess.TOPK_PER_IMAGE, "instances: " + instances.size());
            for (int i = 0; i < instances.size(); i++) {
                var in = instances.get(i);
                assertTrue(in.score() >= 0 && in.score() <= 1, "score " + in.score());
                if (i > 0) assertTrue(instances.get(i - 1).score() >= in.score(), "sorted by score");
                assertEquals(COLOURS.get(in.labelIndex()), in.label());
                if (in.score() < 0.5 || in.mask().area() == 0) continue;
                boolean[] m = in.mask().toArray();
                long inside = 0;
                for (int p = 0; p < m.length; p++) if (m[p] && s.truth()[p] == in.labelIndex()) inside++;
                assertTrue(inside >= 0.95 * in.mask().area(), "seed " + seed + " instance " + i + " (" + in.label() + ", " + in.score() + ") lies on its colour: "
                        + inside + " of " + in.mask().area());
            }
            for (int c : s.present()) {
                double best = 0;
                float bestScore = 0;
                for (var in : instances) {
                    if (in.labelIndex() != c) continue;
                    boolean[] m = in.mask().toArray();
                    long inter = 0, union = 0;
                    for (int p = 0; p < m.length; p++) {
                        boolean t = s.truth()[p] == c;
                        if (t && m[p]) inter++;
                        if (t || m[p]) union++;
                    }
                    if ((double) inter / union > best) {
                        best = (double) inter / union;
                        bestScore = in.score();
                    }
                }
                System.out.printf("colour-world-xdecoder instances seed %d %s: best IoU %.4f (score %.4f), %d instances%n", seed, COLOURS.get(c), best,
                        bestScore, instances.size());
                assertTrue(best >= 0.8, "seed " + seed + " " + COLOURS.get(c) + ": best instance IoU " + best);
            }
            // Stuff named: the instances keep thing classes only (Mask2Former with panoptic on).
            List<String> things = COLOURS.subList(0, 4), stuff = COLOURS.subList(4, 8);
            SegmentationResult rs = seg.segmentWithStuff(s.image(), Labels.of(things), Labels.of(stuff));
            assertTrue(rs.instances().stream().allMatch(in -> in.labelIndex() < 4), "things only: " + rs.instances());
        }
    }

    @Test
    void aSentenceNamingAColourReturnsThatRegion() {
        for (long seed = 21; seed <= 23; seed++) {
            Scene s = scene(seed);
            int target = s.present().get(s.present().size() - 1);
            String sentence = "the " + COLOURS.get(target) + " shape";
            SegmentationResult r = seg.refer(s.image(), Labels.of(List.of(sentence, "a dog on the left")));
            int[] map = r.labelMap();
            long inter = 0, union = 0;
            for (int p = 0; p < map.length; p++) {
                boolean t = s.truth()[p] == target, q = map[p] == 0;
                if (t && q) inter++;
                if (t || q) union++;
            }
            double iou = (double) inter / union;
            System.out.printf("colour-world-xdecoder refer '%s': IoU %.4f%n", sentence, iou);
            assertTrue(iou >= 0.8, sentence + ": IoU " + iou);
            assertEquals(2, r.steps().size(), "one chosen query per sentence");
            assertEquals(target, ((Number) r.steps().get(0).get("query")).intValue(), "the colour's query");
        }
    }

    static double iou(int[] truth, int colour, int[] map, int label) {
        long inter = 0, union = 0;
        for (int p = 0; p < map.length; p++) {
            boolean t = truth[p] == colour, q = map[p] == label;
            if (t && q) inter++;
            if (t || q) union++;
        }
        return (double) inter / union;
    }

    /**
     * Two and three sentences naming different colours: X-Decoder gives one mask per sentence, so
     * label i covers sentence i's colour region; the labels are the sentences and each has its own
     * segment, whose mask is its label's pixels.
     */
    @Test
    void eachSentenceLabelsItsOwnColourRegion() {
        int checked = 0;
        for (long seed = 31; seed <= 36; seed++) {
            Scene s = scene(seed);
            List<Integer> present = s.present();
            if (present.size() < 3) continue;
            for (int k = 2; k <= 3; k++) {
                // Reverse colour order, so that label indices and colour indices differ.
                List<Integer> colours = new ArrayList<>();
                for (int j = 0; j < k; j++) colours.add(present.get(present.size() - 1 - j));
                List<String> sentences = colours.stream().map(c -> "the " + COLOURS.get(c) + " shape").toList();
                SegmentationResult r = seg.refer(s.image(), Labels.of(sentences));
                assertEquals(sentences, r.labels());
                int[] map = r.labelMap();
                for (int i = 0; i < k; i++) {
                    double iou = iou(s.truth(), colours.get(i), map, i);
                    System.out.printf("colour-world-xdecoder refer seed %d, %d sentences, '%s' (label %d): IoU %.4f%n", seed, k, sentences.get(i), i, iou);
                    assertTrue(iou >= 0.8, sentences.get(i) + " (label " + i + "): IoU " + iou);
                }
                assertEquals(k, r.segments().size(), "one segment per sentence: " + r.segments());
                for (var segment : r.segments()) {
                    assertEquals(sentences.get(segment.labelIndex()), segment.label());
                    assertArrayEquals(r.mask(segment.labelIndex()), r.segmentMask(segment.id()).toArray());
                }
                checked++;
            }
        }
        assertTrue(checked >= 6, "scenes with three colours: " + checked / 2);
    }

    /**
     * The same colour named twice: both sentences choose the same query, so their masks are
     * identical and every pixel is a tie, which the earlier sentence keeps. The later one keeps its
     * chosen query and full area in the steps but has no pixels and no segment.
     */
    @Test
    void aColourNamedTwiceGoesToTheEarlierSentence() {
        Scene s = scene(41);
        int target = s.present().get(s.present().size() - 1);
        String colour = COLOURS.get(target);
        for (List<String> sentences : List.of(List.of("the " + colour + " shape", "a " + colour + " region"),
                List.of("a " + colour + " region", "the " + colour + " shape"))) {
            SegmentationResult r = seg.refer(s.image(), Labels.of(sentences));
            assertEquals(sentences, r.labels());
            int[] map = r.labelMap();
            assertTrue(iou(s.truth(), target, map, 0) >= 0.8, sentences + ": IoU " + iou(s.truth(), target, map, 0));
            for (int l : map) assertTrue(l != 1, "the later sentence loses every tie");
            assertEquals(0.0, r.pixelFraction(1));
            assertEquals(List.of(0), r.segments().stream().map(x -> x.labelIndex()).toList());
            assertEquals(r.steps().get(0).get("query"), r.steps().get(1).get("query"));
            long area = ((Number) r.steps().get(0).get("area")).longValue();
            assertEquals(area, ((Number) r.steps().get(1).get("area")).longValue());
            assertEquals(area, r.segments().get(0).area(), "the earlier sentence holds its whole mask");
        }
    }
}
