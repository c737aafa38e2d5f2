package org.ovseg.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Bit-exact against Pillow 12.3 ({@code Image.resize(size, BICUBIC)} and {@code BILINEAR}; goldens
 * written by tools/reference/make_pil_golden.py): a photo shrunk 2.3× and ~5×, down to 3×7; a
 * visual-prompted photo (1-px red ellipse, gray surround) shrunk 2.1×; odd sizes enlarged; one axis
 * up, the other down; one axis unchanged. Tolerance: none (every byte equal).
 */
class PilBicubicTest {
    private static final String DIR = "/org/ovseg/image/pil/";

    @Test
    void matchesPillowBitForBit() throws IOException {
        assertGoldens(DIR, (rgb, w, h, ow, oh) -> PilBicubic.resize(rgb, w, h, ow, oh));
    }

    @Test
    void bilinearMatchesPillowBitForBit() throws IOException {
        assertGoldens("/org/ovseg/image/pil-bilinear/",
                (rgb, w, h, ow, oh) -> PilResample.resize(rgb, w, h, ow, oh, PilResample.Filter.BILINEAR));
    }

    @Test
    void filtersDiffer() throws IOException {
        // The two golden sets must not pass for the same reason: one filter run on the other's cases fails.
        BufferedImage src = ImageIO.read(Path.of("../tools/data/voc-samples/0_image.png").toFile());
        byte[] a = PilResample.resize(rgb(src), src.getWidth(), src.getHeight(), 97, 101, PilResample.Filter.BILINEAR);
        byte[] b = PilResample.resize(rgb(src), src.getWidth(), src.getHeight(), 97, 101, PilResample.Filter.BICUBIC);
        assertTrue(!java.util.Arrays.equals(a, b));
    }

    private interface Resizer {
        byte[] resize(byte[] rgb, int w, int h, int outW, int outH);
    }

    private static void assertGoldens(String dir, Resizer resizer) throws IOException {
        List<String> lines;
        try (InputStream in = PilBicubicTest.class.getResourceAsStream(dir + "cases.txt")) {
            assertNotNull(in, dir + "cases.txt");
            lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
        }
        assertEquals(7, lines.size());
        List<String> failures = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            BufferedImage src = f[1].startsWith("../") ? ImageIO.read(Path.of(f[1]).toFile())
                    : read(f[1].startsWith("/") ? f[1] : dir + f[1]);
            BufferedImage want = read(dir + f[0] + ".out.png");
            int w = Integer.parseInt(f[2]), h = Integer.parseInt(f[3]);
            assertEquals(w, want.getWidth());
            assertEquals(h, want.getHeight());
            byte[] got = resizer.resize(rgb(src), src.getWidth(), src.getHeight(), w, h);
            byte[] expected = rgb(want);
            int diff = 0, worst = 0;
            for (int i = 0; i < expected.length; i++) {
                int d = Math.abs((got[i] & 0xff) - (expected[i] & 0xff));
                if (d != 0) diff++;
                worst = Math.max(worst, d);
            }
            if (diff != 0) failures.add(f[0] + ": " + diff + " bytes differ, max " + worst);
        }
        assertTrue(failures.isEmpty(), failures.toString());
    }

    @Test
    void differsFromPlainBicubicWhereItShouldAndKeepsConstants() {
        // A constant image stays constant (weights sum to one in fixed point, rounding included).
        byte[] flat = new byte[50 * 40 * 3];
        java.util.Arrays.fill(flat, (byte) 200);
        for (byte b : PilBicubic.resize(flat, 50, 40, 13, 97)) assertEquals(200, b & 0xff);
        // A 1-px line shrunk 4x: the antialiased kernel spreads it (no column is skipped), as
        // point-sampled bicubic would not.
        byte[] line = new byte[64 * 8 * 3];
        for (int y = 0; y < 8; y++) for (int c = 0; c < 3; c++) line[(y * 64 + 33) * 3 + c] = (byte) 255;
        byte[] small = PilBicubic.resize(line, 64, 8, 16, 8);
        int lit = 0;
        for (int x = 0; x < 16; x++) if ((small[x * 3] & 0xff) > 0) lit++;
        assertTrue(lit >= 2, "antialiasing spreads the line over neighbouring outputs: " + lit);
    }

    private static BufferedImage read(String resource) throws IOException {
        try (InputStream in = PilBicubicTest.class.getResourceAsStream(resource)) {
            assertNotNull(in, resource);
            return ImageIO.read(in);
        }
    }

    private static byte[] rgb(BufferedImage im) {
        int w = im.getWidth(), h = im.getHeight();
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            int p = im.getRGB(x, y);
            out[(y * w + x) * 3] = (byte) (p >> 16);
            out[(y * w + x) * 3 + 1] = (byte) (p >> 8);
            out[(y * w + x) * 3 + 2] = (byte) p;
        }
        return out;
    }
}
