package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.OvsegException;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.PipelineFactory;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOutput;
import org.ovseg.pipeline.PipelineRegistry;

/**
 * The one pipeline contract, seen from the API: dispatch through the registry, capabilities and
 * options checked with messages that name the pipeline, per-network backends, and the result
 * model's segments (areas, boxes, masks) recounted from the pixels.
 */
class PipelineContractTest {
    @TempDir
    static Path cache;

    private static RgbImage halves(int w, int h, int left, int right) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int c = x < w / 2 ? left : right;
                for (int k = 0; k < 3; k++) rgb[3 * (y * w + x) + k] = (byte) (c >> (16 - 8 * k));
            }
        }
        return new RgbImage(w, h, rgb);
    }

    @Test
    void registryKnowsEachMethodOnceWithItsDemoModel() {
        assertEquals(List.of("maskclip", "car", "odise", "ovsegmentor", "xdecoder"), PipelineRegistry.names());
        for (String n : PipelineRegistry.names()) {
            PipelineFactory f = PipelineRegistry.get(n);
            assertEquals(n, f.name());
            assertTrue(f.demoModel().startsWith("builtin:"), f.demoModel());
            assertTrue(PipelineOption.ALL.containsAll(f.options()), n + " takes only shared options");
        }
        OvsegException e = assertThrows(OvsegException.class, () -> PipelineRegistry.get("no-such-method"));
        assertEquals("unknown pipeline 'no-such-method' (this version runs: maskclip, car, odise, ovsegmentor, xdecoder)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Segmenter.builder().pipeline("nope"));
    }

    @Test
    void maskclipResultHasPerNetworkBackendsAndOneStuffSegmentPerLabel() {
        try (Segmenter s = Segmenter.builder().cacheDir(cache).build()) {
            assertEquals("maskclip", s.pipeline());
            assertEquals(Set.of("LOGITS"), s.capabilities());
            assertEquals(Map.of("image", "onnxruntime-cpu", "text", "onnxruntime-cpu"), s.backends());
            RgbImage img = halves(90, 40, 0xff0000, 0x0000ff);
            SegmentationResult r = s.segment(img, Labels.parse("green, blue, red"));
            assertEquals(Map.of("image", "onnxruntime-cpu", "text", "onnxruntime-cpu"), r.backends());
            assertEquals("onnxruntime-cpu", r.backend());
            assertFalse(r.hasInstances());
            int[] map = r.labelMap();
            int[] ids = r.panopticIds();
            for (int i = 0; i < map.length; i++) assertEquals(map[i] + 1, ids[i], "semantic ids are label + 1");
            assertEquals(2, r.segments().size(), r.segments().toString());
            long covered = 0;
            for (Segment seg : r.segments()) {
                assertFalse(seg.isThing());
                assertEquals(seg.labelIndex() + 1, seg.id());
                assertEquals(r.labels().get(seg.labelIndex()), seg.label());
                boolean[] naive = r.mask(seg.labelIndex());
                assertArrayEquals(naive, r.segmentMask(seg.id()).toArray());
                long area = 0;
                int x0 = Integer.MAX_VALUE, x1 = -1, y0 = Integer.MAX_VALUE, y1 = -1;
                for (int i = 0; i < naive.length; i++) {
                    if (!naive[i]) continue;
                    area++;
                    x0 = Math.min(x0, i % 90);
                    x1 = Math.max(x1, i % 90);
                    y0 = Math.min(y0, i / 90);
                    y1 = Math.max(y1, i / 90);
                }
                assertEquals(area, seg.area());
                assertEquals(new BoundingBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1), seg.bbox());
                assertEquals(r.meanScore(seg.labelIndex()), seg.score(), 1e-6);
                covered += area;
            }
            assertEquals(90 * 40, covered);
            assertThrows(java.util.NoSuchElementException.class, () -> r.segmentMask(1)); // green is absent: no segment
        }
    }

    @Test
    void requestsAPipelineCannotServeFailNamingIt() {
        try (Segmenter s = Segmenter.builder().cacheDir(cache).build()) {
            OvsegException e = assertThrows(OvsegException.class, () -> s.refer(halves(32, 32, 0xff0000, 0xff0000), Labels.parse("the red one")));
            assertEquals("referring segmentation (--refer) is not available with the 'maskclip' pipeline (pipelines that can: car, xdecoder)", e.getMessage());
        }
        OvsegException opt = assertThrows(OvsegException.class, () -> Segmenter.builder().pipeline("car").cacheDir(cache).keySmoothing(1f).build());
        assertTrue(opt.getMessage().startsWith("option --key-smoothing does not apply to the 'car' pipeline"), opt.getMessage());
        OvsegException preset = assertThrows(OvsegException.class, () -> Segmenter.builder().pipeline("car").cacheDir(cache).preset("cityscapes").build());
        assertEquals("unknown preset 'cityscapes' for the 'car' pipeline (known: ade, coco-object, context, refcoco, voc)", preset.getMessage());
        OvsegException kind = assertThrows(OvsegException.class, () -> Segmenter.builder().pipeline("car").model("builtin:colour-world").cacheDir(cache).build());
        assertTrue(kind.getMessage().contains("is a 'maskclip' bundle, not 'car'"), kind.getMessage());
    }

    @Test
    void carNamesTheBackendOfEachOfItsNetworks() {
        try (Segmenter s = Segmenter.builder().pipeline("car").cacheDir(cache).build()) {
            assertEquals(Set.of("LOGITS", "REFER"), s.capabilities());
            assertEquals(List.of("text", "car_cam", "car_classifier_image", "car_classifier_text"), List.copyOf(s.backends().keySet()));
            assertTrue(s.backends().values().stream().allMatch("onnxruntime-cpu"::equals), s.backends().toString());
        }
    }

    /**
     * Several referring sentences: CaR reads them as one object (one label, the first sentence,
     * covering the red half), X-Decoder as one object each (label i = sentence i on its half).
     */
    @Test
    void referDeclaresHowSeveralSentencesAreRead() {
        RgbImage img = halves(64, 48, 0xff0000, 0x0000ff);
        try (Segmenter s = Segmenter.builder().pipeline("car").cacheDir(cache).build()) {
            assertTrue(s.referSentencesAreOneObject());
            SegmentationResult r = s.refer(img, Labels.of(List.of("the red half", "red thing on the left")));
            assertEquals(List.of("the red half"), r.labels());
            assertEquals(0, r.labelAt(10, 24));
            assertEquals(SegmentationResult.UNASSIGNED, r.labelAt(54, 24));
        }
        try (Segmenter s = Segmenter.builder().pipeline("xdecoder").cacheDir(cache).build()) {
            assertFalse(s.referSentencesAreOneObject());
            List<String> sentences = List.of("the blue half", "the red half");
            SegmentationResult r = s.refer(img, Labels.of(sentences));
            assertEquals(sentences, r.labels());
            assertEquals(1, r.labelAt(10, 24));
            assertEquals(0, r.labelAt(54, 24));
            assertEquals(List.of(0, 1), r.segments().stream().map(Segment::labelIndex).sorted().toList());
        }
    }

    /** A panoptic method's own segments: instances of one label stay apart; ids need not follow labels. */
    @Test
    void panopticOutputKeepsInstancesAndMeasuresThem() {
        int w = 6, h = 4;
        int[] ids = {
            7, 7, 0, 3, 3, 3,
            7, 7, 0, 3, 9, 9,
            0, 0, 0, 0, 9, 9,
            5, 5, 5, 5, 5, 5};
        int[] labels = new int[w * h];
        Map<Integer, Integer> labelOf = Map.of(7, 1, 3, 1, 9, 0, 5, 2);
        for (int i = 0; i < ids.length; i++) labels[i] = ids[i] == 0 ? -1 : labelOf.get(ids[i]);
        List<PipelineOutput.Segment> segs = List.of(new PipelineOutput.Segment(7, 1, true, 0.9f), new PipelineOutput.Segment(3, 1, true, 0.8f),
                new PipelineOutput.Segment(9, 0, true, 0.7f), new PipelineOutput.Segment(5, 2, false, 0.6f),
                new PipelineOutput.Segment(11, 0, true, 0.5f)); // 11 covers no pixel: dropped
        PipelineOutput out = new PipelineOutput(w, h, labels, new float[w * h], null, new PipelineOutput.Panoptic(ids, segs), List.of(), Map.of());
        SegmentationResult r = new SegmentationResult(Labels.parse("dog, cat, grass"), out, "test", Map.of("net", "onnxruntime-cpu"));
        assertTrue(r.hasInstances());
        assertArrayEquals(ids, r.panopticIds());
        assertEquals(List.of(7, 3, 9, 5), r.segments().stream().map(Segment::id).toList());
        Segment cat2 = r.segments().get(1);
        assertEquals(new Segment(3, 1, "cat", true, 0.8f, 4, new BoundingBox(3, 0, 3, 2)), cat2);
        assertEquals(new Segment(5, 2, "grass", false, 0.6f, 6, new BoundingBox(0, 3, 6, 1)), r.segments().get(3));
        assertTrue(r.segmentMask(9).contains(4, 1) && !r.segmentMask(9).contains(3, 1));
        assertEquals(4, r.segmentMask(9).area());
        // A pipeline that paints an id with no segment, or a label out of range, is a bug reported at once.
        int[] bad = ids.clone();
        bad[2] = 4;
        assertThrows(IllegalStateException.class, () -> new SegmentationResult(Labels.parse("dog, cat, grass"),
                new PipelineOutput(w, h, labels, new float[w * h], null, new PipelineOutput.Panoptic(bad, segs), List.of(), Map.of()), "test", Map.of()));
    }
}
