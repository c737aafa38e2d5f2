package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.image.RgbImage;

/**
 * MaskCLIP's optional refinements on the colour-world model, against what their definitions
 * imply. Prompt denoising: a class whose softmax(100·cos) probability never reaches the
 * threshold is absent and gets logit −100 everywhere. Key smoothing: positions already confident
 * keep their (now probability) values; the label map of a clean two-colour image is unchanged.
 */
class RefinementTest {
    @TempDir
    static Path cache;

    static RgbImage halves(int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            int o = (y * w + x) * 3;
            if (x < w / 2) rgb[o] = (byte) 255; // red | blue
            else rgb[o + 2] = (byte) 255;
        }
        return new RgbImage(w, h, rgb);
    }

    @Test
    void promptDenoisingSuppressesAbsentClasses() {
        Labels labels = Labels.parse("red,blue,green,cat");
        try (Segmenter s = Segmenter.builder().cacheDir(cache).promptDenoising(0.5f).keepLogits(true).build()) {
            SegmentationResult r = s.segment(halves(96, 64), labels);
            float[] logits = r.logits().orElseThrow();
            int n = 96 * 64;
            for (int k : new int[] {2, 3}) {
                for (int i = 0; i < n; i++) assertEquals(-100f, logits[k * n + i], 1e-3f, "class " + labels.get(k) + " pixel " + i);
            }
            assertTrue(logits[0] > -1 && logits[n + n - 1] > -1, "present classes keep their logits");
            assertEquals(0, r.labelAt(5, 5));
            assertEquals(1, r.labelAt(90, 5));
        }
    }

    @Test
    void keySmoothingKeepsACleanImageAndYieldsProbabilities() {
        Labels labels = Labels.parse("red,blue,green");
        try (Segmenter plain = Segmenter.builder().cacheDir(cache).build();
                Segmenter ks = Segmenter.builder().cacheDir(cache).keySmoothing(1.0f).keepLogits(true).build()) {
            SegmentationResult a = plain.segment(halves(128, 64), labels), b = ks.segment(halves(128, 64), labels);
            int same = 0;
            int[] ma = a.labelMap(), mb = b.labelMap();
            for (int i = 0; i < ma.length; i++) if (ma[i] == mb[i]) same++;
            assertTrue(same > 0.95 * ma.length, "agreement " + (double) same / ma.length);
            float[] l = b.logits().orElseThrow();
            for (float v : l) assertTrue(v >= -1e-4f, "smoothed values are non-negative (probabilities and their key-weighted sums): " + v);
        }
    }
}
