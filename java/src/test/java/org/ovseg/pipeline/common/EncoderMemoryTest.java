package org.ovseg.pipeline.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.engine.Backend;
import org.ovseg.image.RgbImage;

class EncoderMemoryTest {
    @TempDir
    Path dir;

    /** The built-in demo's image encoder: ViT, patch 16, width 64 (one head). */
    private static EncoderMemory demo(long budget) {
        return EncoderMemory.withBudget(true, 16, 64, budget);
    }

    @Test
    void estimatesMatchAHandCount() {
        EncoderMemory b16 = EncoderMemory.withBudget(true, 16, 768, Long.MAX_VALUE);
        // 512²: 32·32 patches + class token = 1025 tokens, 12 heads:
        // 2·12·1025²·4 = 100,860,000; 16·1025·768·4 = 50,380,800; 2·3·512²·4 = 6,291,456.
        assertEquals(157_532_256L, b16.estimate(512, 512));
        // 500×375 pads to 512×384: 32·24 + 1 = 769 tokens.
        // 2·12·769²·4 = 56,770,656; 16·769·768·4 = 37,797,888; 2·3·512·384·4 = 4,718,592.
        assertEquals(99_287_136L, b16.estimate(500, 375));
        // RN50 (stride 32, D 2048) at 1024²: 1,048,576 px · (2048/6 = 341.33 B) = 357,913,941 + 24 B/px.
        assertEquals(357_913_941L + 25_165_824L, EncoderMemory.withBudget(false, 32, 2048, Long.MAX_VALUE).estimate(1024, 1024));
    }

    @Test
    void aHugeSizeIsRefusedWithOneLineThatNamesWhatFits() {
        long budget = 3_000_000_000L;
        EncoderMemory m = demo(budget);
        SizePolicy asked = SizePolicy.shortSide(8192);
        InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class, () -> m.check(asked, 0, 513, 513));
        String msg = e.getMessage();
        // 8192² → 512² patches + 1 = 262,145 tokens; 2·262,145²·4 ≈ 549.8 GB (+ 2.1 GB of activations).
        assertTrue(msg.startsWith("short side 8192 needs ~552 GB for the image encoder (attention over 262,145 tokens at 8192x8192);"
                + " about 3.0 GB of memory can be used: at most short side "), msg);
        assertTrue(msg.endsWith(", or use a sliding window (--window 512 --stride 256)"), msg);
        assertFalse(msg.chars().anyMatch(c -> c < 0x20 || c > 0x7e), "one printable ASCII line: " + msg);
        int fits = e.largestFittingSize().orElseThrow();
        assertTrue(msg.contains("short side " + fits + " fits this image (--size " + fits + ")"), msg);
        // Independent of the search: the suggested size fits and the next one does not.
        int[] at = SizePolicy.shortSide(fits).apply(513, 513), next = SizePolicy.shortSide(fits + 1).apply(513, 513);
        assertTrue(m.estimate(at[0], at[1]) <= budget);
        assertTrue(m.estimate(next[0], next[1]) > budget);
        assertEquals(budget, e.availableBytes());
        assertEquals(m.estimate(8192, 8192), e.neededBytes());
        // The same image at the suggested size passes, also as the build-time check.
        m.check(SizePolicy.shortSide(fits), 0, 513, 513);
        m.checkSmallest(SizePolicy.shortSide(fits), 0);
        assertThrows(InsufficientMemoryException.class, () -> m.checkSmallest(asked, 0));
    }

    @Test
    void theLongSideCountsPerImage() {
        EncoderMemory m = demo(1_000_000_000L);
        SizePolicy p = SizePolicy.shortSide(1536);
        m.check(p, 0, 300, 300); // 1536²: 9,217 tokens, 0.70 GB
        InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class, () -> m.check(p, 0, 600, 300));
        assertTrue(e.getMessage().contains("(attention over 18,433 tokens at 3072x1536)"), e.getMessage());
        int fits = e.largestFittingSize().orElseThrow();
        int[] at = SizePolicy.shortSide(fits).apply(600, 300), next = SizePolicy.shortSide(fits + 1).apply(600, 300);
        assertTrue(m.estimate(at[0], at[1]) <= 1_000_000_000L && m.estimate(next[0], next[1]) > 1_000_000_000L, "size " + fits);
        // 2:1 holds about twice the tokens of a square at the same short side: 8·T² ≤ 1e9 at T ≈ 11,180
        // gives a short side near 16·√(11,180 / 2) ≈ 1,196, below the square's 1536.
        assertTrue(fits > 1100 && fits < 1200, "size " + fits);
    }

    @Test
    void aTooLargeWindowIsRefusedWithTheLargestThatFits() {
        EncoderMemory m = demo(500_000_000L);
        InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class, () -> m.check(SizePolicy.shortSide(4096), 2048, 800, 600));
        String msg = e.getMessage();
        assertTrue(msg.startsWith("window 2048 (short side 4096) needs ~"), msg);
        int w = Integer.parseInt(msg.replaceAll(".*at most --window (\\d+) fits$", "$1"));
        assertTrue(m.estimate(w, w) <= 500_000_000L && m.estimate(w + 1, w + 1) > 500_000_000L, "window " + w);
        m.check(SizePolicy.shortSide(4096), w, 800, 600);
    }

    @Test
    void nothingFitsSaysSo() {
        InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class,
                () -> EncoderMemory.withBudget(true, 16, 64, 70_000_000L).check(SizePolicy.shortSide(2048), 0, 100, 100));
        // 16² at 70 MB fits, so the search finds something; a budget under the smallest does not.
        assertTrue(e.largestFittingSize().isPresent());
        InsufficientMemoryException none = assertThrows(InsufficientMemoryException.class,
                () -> EncoderMemory.withBudget(false, 32, 2048, 1L).check(SizePolicy.shortSide(8192), 0, 100, 100));
        assertTrue(none.getMessage().endsWith("no short side of 16 or more fits this image"), none.getMessage());
        assertTrue(none.largestFittingSize().isEmpty());
    }

    @Test
    void onlyCpuEnginesAreChecked() {
        EncoderMemory gpu = EncoderMemory.forEngine(new org.ovseg.engine.NoRunEngine(Backend.TENSORRT), true, 16, 64);
        gpu.check(SizePolicy.shortSide(8192), 0, 513, 513);
        EncoderMemory cpu = EncoderMemory.forEngine(new org.ovseg.engine.NoRunEngine(Backend.CPU), true, 16, 64);
        assertThrows(InsufficientMemoryException.class, () -> cpu.check(SizePolicy.shortSide(8192), 0, 513, 513),
                "no machine this runs on has 550 GB free");
    }

    @Test
    void sizesAndMeminfoParse() throws Exception {
        assertEquals(8L << 30, EncoderMemory.parseSize("8g"));
        assertEquals(512L << 20, EncoderMemory.parseSize(" 512M "));
        assertEquals(3L << 29, EncoderMemory.parseSize("1.5GB"));
        assertEquals(2_000_000_000L, EncoderMemory.parseSize("2000000000"));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> EncoderMemory.parseSize("lots"));
        assertEquals("-Dovseg.memoryLimit=lots is not a memory size (e.g. 8g, 512m, 2000000000)", bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EncoderMemory.parseSize("-1g"));
        Path meminfo = Files.writeString(dir.resolve("meminfo"), "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   21471488 kB\n");
        assertEquals(OptionalLong.of(21_471_488L * 1024), EncoderMemory.memAvailable(meminfo));
        assertEquals(OptionalLong.empty(), EncoderMemory.memAvailable(dir.resolve("absent")));
        assertEquals("552 GB", EncoderMemory.gb(551_900_000_000L));
        assertEquals("3.0 GB", EncoderMemory.gb(3_000_000_000L));
    }

    /** Through the API on the built-in model: refused at build, per image, and the suggestion runs. */
    @Test
    void theSegmenterRefusesBeforeRunningAndTheSuggestedSizeRuns() {
        Path cache = dir.resolve("cache");
        InsufficientMemoryException atBuild = assertThrows(InsufficientMemoryException.class,
                () -> Segmenter.builder().size(8192).cacheDir(cache).diskTextCache(false).build());
        assertTrue(atBuild.getMessage().startsWith("short side 8192 needs ~552 GB"), atBuild.getMessage());

        String before = System.getProperty(EncoderMemory.LIMIT_PROPERTY);
        System.setProperty(EncoderMemory.LIMIT_PROPERTY, "600m");
        try {
            // 2:1 at short side 1280: 2560x1280, 12,801 tokens, ~1.4 GB; a square at 1280 needs 0.44 GB.
            RgbImage wide = stripes(64, 32);
            int fits;
            try (Segmenter s = Segmenter.builder().size(1280).cacheDir(cache).diskTextCache(false).build()) {
                InsufficientMemoryException e = assertThrows(InsufficientMemoryException.class, () -> s.segment(wide, Labels.parse("red, green")));
                assertTrue(e.getMessage().contains("about 0.6 GB of memory allowed (-Dovseg.memoryLimit)"), e.getMessage());
                fits = e.largestFittingSize().orElseThrow();
            }
            try (Segmenter s = Segmenter.builder().size(fits).cacheDir(cache).diskTextCache(false).build()) {
                SegmentationResult r = s.segment(wide, Labels.parse("red, green"));
                assertEquals(0, r.labelAt(5, 16), "left half red");
                assertEquals(1, r.labelAt(58, 16), "right half green");
            }
        } finally {
            if (before == null) System.clearProperty(EncoderMemory.LIMIT_PROPERTY);
            else System.setProperty(EncoderMemory.LIMIT_PROPERTY, before);
        }
    }

    /** Left half pure red, right half pure green. */
    private static RgbImage stripes(int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) rgb[(y * w + x) * 3 + (x < w / 2 ? 0 : 1)] = (byte) 255;
        }
        return new RgbImage(w, h, rgb);
    }
}
