package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.image.RgbImage;

class SegmenterTest {
    @TempDir
    static Path cache;

    private static RgbImage quadrants(int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        int[][] colours = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}};
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            int[] c = colours[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)];
            for (int k = 0; k < 3; k++) rgb[(y * w + x) * 3 + k] = (byte) c[k];
        }
        return new RgbImage(w, h, rgb);
    }

    @Test
    void segmentsQuadrantsConcurrentlyAndRefusesAfterClose() throws Exception {
        Segmenter s = Segmenter.builder().cacheDir(cache).build();
        Labels labels = Labels.parse("yellow,blue,green,red");
        RgbImage img = quadrants(200, 120);
        SegmentationResult r = s.segment(img, labels);
        assertEquals(3, r.labelAt(10, 10)); // red
        assertEquals(2, r.labelAt(190, 10)); // green
        assertEquals(1, r.labelAt(10, 110)); // blue
        assertEquals(0, r.labelAt(190, 110)); // yellow
        assertEquals(0.25, r.pixelFraction(3), 0.03);
        assertTrue(r.meanScore(3) > 0.8, "cosine of a pure colour with its word: " + r.meanScore(3));
        assertThrows(IndexOutOfBoundsException.class, () -> r.labelAt(200, 0));
        int[] map = r.labelMap();
        map[0] = 9; // results are immutable: accessors return copies
        assertEquals(3, r.labelAt(0, 0));

        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<SegmentationResult>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) fs.add(pool.submit(() -> s.segment(img, labels)));
            for (Future<SegmentationResult> f : fs) assertArrayEquals(r.labelMap(), f.get().labelMap());
        } finally {
            pool.shutdown();
        }
        s.close();
        s.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> s.segment(img, labels));
    }

    @Test
    void slidingWindowAgreesWithWholeImageOnLargeRegions() {
        try (Segmenter whole = Segmenter.builder().cacheDir(cache).build();
                Segmenter slide = Segmenter.builder().cacheDir(cache).slidingWindow(256, 128).build()) {
            Labels labels = Labels.parse("red,green,blue,yellow");
            RgbImage img = quadrants(300, 200);
            SegmentationResult a = whole.segment(img, labels), b = slide.segment(img, labels);
            int same = 0;
            int[] ma = a.labelMap(), mb = b.labelMap();
            for (int i = 0; i < ma.length; i++) if (ma[i] == mb[i]) same++;
            assertTrue(same > 0.97 * ma.length, "agreement " + (double) same / ma.length);
        }
    }

    @Test
    void precisionIsCheckedAgainstTheBundle() {
        assertThrows(IllegalArgumentException.class, () -> Segmenter.builder().precision("int4"));
        // The demonstration bundle has fp32 networks only: int8 must be refused, never silently fp32.
        org.ovseg.OvsegException e = assertThrows(org.ovseg.OvsegException.class,
                () -> Segmenter.builder().cacheDir(cache).precision("INT8").build());
        assertTrue(e.getMessage().contains("no int8 variant") && e.getMessage().contains("--int8"), e.getMessage());
        try (Segmenter s = Segmenter.builder().cacheDir(cache).precision("fp32").build()) {
            assertEquals(3, s.segment(quadrants(200, 120), Labels.parse("yellow,blue,green,red")).labelAt(10, 10));
        }
    }
}
