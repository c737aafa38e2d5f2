package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.image.RgbImage;

/**
 * Native memory is owned: after a warm-up, hundreds of segmentations (each allocating native
 * input and output tensors, engine runs and kernel scratch) must leave resident memory flat.
 * Bound: the floor of resident memory may rise by less than 32 MiB between calls 50–250 and
 * 600–800 — a leak of even 100 KiB per call would show as 35+ MiB.
 */
class NativeMemorySoakTest {
    @TempDir
    static Path cache;

    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no VmRSS");
    }

    @Test
    void residentMemoryStaysFlatOverManyCalls() throws Exception {
        int w = 320, h = 240;
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i += 3) rgb[i + (i / 3 % w < w / 2 ? 0 : 2)] = (byte) 255;
        RgbImage img = new RgbImage(w, h, rgb);
        Labels labels = Labels.parse("red,blue,green");
        // RSS swings by tens of MiB from call to call (allocator arenas); a leak shows as a rising
        // floor, so compare the minimum of the first and of the last stretch.
        long firstMin = Long.MAX_VALUE, lastMin = Long.MAX_VALUE;
        try (Segmenter s = Segmenter.builder().cacheDir(cache).size(256).build()) {
            for (int i = 0; i < 800; i++) {
                s.segment(img, labels);
                if (i >= 50 && i % 25 == 0) {
                    System.gc(); // the Java heap is not under test; native memory is
                    long r = rssKiB();
                    if (i < 250) firstMin = Math.min(firstMin, r);
                    if (i >= 600) lastMin = Math.min(lastMin, r);
                }
            }
        }
        long grown = lastMin - firstMin;
        assertTrue(grown < 32 * 1024, "resident-memory floor rose by " + grown + " KiB over 550 calls");
    }

    /**
     * The same for CaR on its built-in demo: every call runs the Grad-CAM graph, the classifier
     * batch, visual prompts and the CRF. 400 calls on a small image; a leak of 100 KiB per call
     * would raise the floor by 25+ MiB between calls 40–140 and 300–400.
     */
    @Test
    void carResidentMemoryStaysFlatOverManyCalls() throws Exception {
        int w = 96, h = 80;
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i += 3) {
            int x = i / 3 % w, y = i / 3 / w;
            boolean inside = x > 20 && x < 70 && y > 15 && y < 60;
            rgb[i] = (byte) 255; // red background, a yellow rectangle
            if (inside) rgb[i + 1] = (byte) 255;
        }
        RgbImage img = new RgbImage(w, h, rgb);
        Labels labels = Labels.parse("red,yellow,blue");
        long firstMin = Long.MAX_VALUE, lastMin = Long.MAX_VALUE;
        try (Segmenter s = Segmenter.builder().pipeline("car").cacheDir(cache).build()) {
            for (int i = 0; i < 400; i++) {
                s.segment(img, labels);
                if (i >= 40 && i % 20 == 0) {
                    System.gc();
                    long r = rssKiB();
                    if (i < 140) firstMin = Math.min(firstMin, r);
                    if (i >= 300) lastMin = Math.min(lastMin, r);
                }
            }
        }
        long grown = lastMin - firstMin;
        assertTrue(grown < 24 * 1024, "resident-memory floor rose by " + grown + " KiB over 260 CaR calls");
    }
}
