package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.ovseg.image.PilBicubic;

/**
 * The native twin of PIL's bicubic resize ({@code ovseg_cpu_pil_bicubic}): bit-exact against
 * Pillow 12.3's own output (the goldens of {@code PilBicubicTest}, written by
 * tools/reference/make_pil_golden.py) and against the independent pure-Java
 * {@link PilBicubic} on photos, visual-prompted photos (1-px red ellipse, blurred or gray
 * surround), odd sizes, up- and down-scaling by up to ~14×, one axis unchanged. Tolerance: none.
 */
class PilResizeTest {
    private static final String DIR = "/org/ovseg/image/pil/";

    @Test
    void matchesPillowGoldensBitForBit() throws IOException {
        List<String> lines;
        try (InputStream in = PilResizeTest.class.getResourceAsStream(DIR + "cases.txt")) {
            assertNotNull(in, "cases.txt");
            lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        }
        assertEquals(7, lines.size());
        List<String> failures = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            BufferedImage src = f[1].startsWith("../") ? ImageIO.read(Path.of(f[1]).toFile()) : read(DIR + f[1]);
            BufferedImage want = read(DIR + f[0] + ".out.png");
            int w = Integer.parseInt(f[2]), h = Integer.parseInt(f[3]);
            byte[] got = PilResize.resize(rgb(src), src.getWidth(), src.getHeight(), w, h);
            int diff = differing(got, rgb(want));
            if (diff != 0) failures.add(f[0] + ": " + diff + " bytes differ");
        }
        assertTrue(failures.isEmpty(), failures.toString());
    }

    @Test
    void matchesTheJavaTwinOnPhotosPromptedImagesAndOddSizes() throws IOException {
        List<String> failures = new ArrayList<>();
        for (String name : List.of("0_image.png", "8_image.png")) {
            BufferedImage im = ImageIO.read(Path.of("../tools/data/voc-samples", name).toFile());
            int W = im.getWidth(), H = im.getHeight();
            byte[] photo = rgb(im);
            // CaR's classifier input: a prompted copy (ring-shaped proposal) shrunk 2.3x to 224
            float[] cam = new float[H * W];
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    double dy = (y - H * 0.45) / (H * 0.3), dx = (x - W * 0.55) / (W * 0.25), r2 = dy * dy + dx * dx;
                    cam[y * W + x] = r2 <= 1 ? 0.9f : 0.1f;
                }
            }
            byte[] circleBlur = VisualPrompt.apply(photo, cam, H, W, 0.4f, EnumSet.of(VisualPrompt.Effect.CIRCLE, VisualPrompt.Effect.BLUR));
            byte[] grayBlur = VisualPrompt.apply(photo, cam, H, W, 0.5f, EnumSet.of(VisualPrompt.Effect.GRAY, VisualPrompt.Effect.BLUR));
            int[][] sizes = {{224, 224}, {37, 36}, {224, 298}, {1, 1}, {W, 100}, {100, H}, {1030, 777}, {W * 3 + 1, H / 5}};
            for (byte[] img : List.of(photo, circleBlur, grayBlur)) {
                for (int[] s : sizes) {
                    int d = differing(PilResize.resize(img, W, H, s[0], s[1]), PilBicubic.resize(img, W, H, s[0], s[1]));
                    if (d != 0) failures.add(name + " -> " + s[0] + "x" + s[1] + ": " + d + " bytes differ");
                }
            }
        }
        // odd sizes, random content, both directions per axis (1..97 pixels)
        SplittableRandom rng = new SplittableRandom(15);
        for (int t = 0; t < 60; t++) {
            int w = 1 + rng.nextInt(97), h = 1 + rng.nextInt(97), ow = 1 + rng.nextInt(97), oh = 1 + rng.nextInt(97);
            byte[] img = new byte[w * h * 3];
            if (t % 3 == 0) {
                for (int i = 0; i < img.length; i++) img[i] = (byte) (((i / 3) % 2 == 0) ? 255 : 0); // saturating sums
            } else {
                rng.nextBytes(img);
            }
            int d = differing(PilResize.resize(img, w, h, ow, oh), PilBicubic.resize(img, w, h, ow, oh));
            if (d != 0) failures.add(w + "x" + h + " -> " + ow + "x" + oh + ": " + d + " bytes differ");
        }
        assertTrue(failures.isEmpty(), failures.toString());
    }

    @Test
    void rejectsBadInputWithClearErrors() {
        byte[] img = new byte[4 * 3 * 3];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PilResize.resize(img, 4, 3, 0, 2));
        assertTrue(e.getMessage().contains("sizes must be positive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PilResize.resize(img, 5, 3, 2, 2));
        assertTrue(e.getMessage().contains("expected 45 bytes, got 36"), e.getMessage());
        assertThrows(NullPointerException.class, () -> PilResize.resize(null, 4, 3, 2, 2));
        // same size: an exact copy, not the input array
        byte[] same = PilResize.resize(img, 4, 3, 4, 3);
        assertArrayEquals(img, same);
        assertTrue(same != img);
    }

    private static int differing(byte[] a, byte[] b) {
        assertEquals(b.length, a.length, "length");
        int n = 0;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) n++;
        return n;
    }

    private static BufferedImage read(String resource) throws IOException {
        try (InputStream in = PilResizeTest.class.getResourceAsStream(resource)) {
            assertNotNull(in, resource);
            return ImageIO.read(in);
        }
    }

    private static byte[] rgb(BufferedImage im) {
        int w = im.getWidth(), h = im.getHeight();
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = im.getRGB(x, y);
                out[(y * w + x) * 3] = (byte) (p >> 16);
                out[(y * w + x) * 3 + 1] = (byte) (p >> 8);
                out[(y * w + x) * 3 + 2] = (byte) p;
            }
        }
        return out;
    }
}
