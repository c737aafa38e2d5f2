package org.ovseg.pipeline.car;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ovseg.image.RgbImage;

/** The working size of CaR's recurrence: its bound, the area-average reduction and the nearest-label upsampling. */
class WorkingSizeTest {
    @Test
    void keepsImagesWithinTheBoundAndShrinksLargerOnesToTheLargestFit() {
        WorkingSize same = WorkingSize.of(2048, 2048, CarLoop.MAX_WORKING_PIXELS);
        assertTrue(same.isIdentity());
        for (int[] s : new int[][] {{7303, 5477}, {5477, 7303}, {100_000, 300}, {2049, 2048}, {40_000, 1000}}) {
            WorkingSize w = WorkingSize.of(s[0], s[1], CarLoop.MAX_WORKING_PIXELS);
            long px = (long) w.workWidth() * w.workHeight();
            assertTrue(px <= CarLoop.MAX_WORKING_PIXELS, w.toString());
            // the largest of its aspect: one more row and column would not fit
            assertTrue((long) (w.workWidth() + 1) * (w.workHeight() + 1) > CarLoop.MAX_WORKING_PIXELS, w.toString());
            double aspect = (double) s[0] / s[1], got = (double) w.workWidth() / w.workHeight();
            assertEquals(aspect, got, aspect * 2.0 / Math.min(w.workWidth(), w.workHeight()) + 1e-9, w.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> WorkingSize.of(10, 10, 0));
    }

    /** Against a naive per-pixel integral over the covered area (fractional overlaps), ±1 for rounding. */
    @Test
    void downscaleIsTheAreaAverage() {
        int W = 97, H = 61;
        byte[] rgb = new byte[W * H * 3];
        new SplittableRandom(3).nextBytes(rgb);
        RgbImage img = new RgbImage(W, H, rgb);
        WorkingSize ws = WorkingSize.of(W, H, 30L * 19);
        RgbImage small = ws.downscale(img);
        int w = ws.workWidth(), h = ws.workHeight();
        double sx = (double) W / w, sy = (double) H / h;
        for (int oy = 0; oy < h; oy++) for (int ox = 0; ox < w; ox++) for (int c = 0; c < 3; c++) {
            double sum = 0, area = 0;
            for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) {
                double ox0 = Math.max(x, ox * sx), ox1 = Math.min(x + 1, (ox + 1) * sx);
                double oy0 = Math.max(y, oy * sy), oy1 = Math.min(y + 1, (oy + 1) * sy);
                if (ox1 <= ox0 || oy1 <= oy0) continue;
                double a = (ox1 - ox0) * (oy1 - oy0);
                sum += a * (rgb[(y * W + x) * 3 + c] & 0xff);
                area += a;
            }
            assertEquals(sum / area, small.get(ox, oy, c), 0.5 + 1e-6, "pixel " + ox + "," + oy + " channel " + c);
        }
        assertSame(img, WorkingSize.of(W, H, (long) W * H).downscale(img), "no copy within the bound");
    }

    @Test
    void upsampledLabelsTakeTheWorkingPixelUnderEachCentre() {
        WorkingSize ws = new WorkingSize(10, 7, 4, 3);
        int[] small = new int[12];
        for (int i = 0; i < 12; i++) small[i] = i;
        int[] big = ws.upsampleLabels(small);
        for (int y = 0; y < 7; y++) for (int x = 0; x < 10; x++) {
            int wx = (int) Math.floor((x + 0.5) * 4 / 10), wy = (int) Math.floor((y + 0.5) * 3 / 7);
            assertEquals(wy * 4 + wx, big[y * 10 + x], x + "," + y);
        }
        assertThrows(IllegalArgumentException.class, () -> ws.upsampleLabels(new int[11]));
    }
}
