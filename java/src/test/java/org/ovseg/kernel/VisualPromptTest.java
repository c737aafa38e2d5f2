package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.ovseg.kernel.VisualPrompt.Effect;

/** ovseg_cpu_visual_prompt through {@link VisualPrompt} on hand-made images and masks. */
class VisualPromptTest {
    private static int px(byte[] im, int W, int y, int x, int c) {
        return im[(y * W + x) * 3 + c] & 0xff;
    }

    private static boolean red(byte[] im, int W, int y, int x) {
        return px(im, W, y, x, 0) == 255 && px(im, W, y, x, 1) == 0 && px(im, W, y, x, 2) == 0;
    }

    private static byte[] fill(int H, int W, int r, int g, int b) {
        byte[] im = new byte[H * W * 3];
        for (int i = 0; i < H * W; i++) {
            im[3 * i] = (byte) r;
            im[3 * i + 1] = (byte) g;
            im[3 * i + 2] = (byte) b;
        }
        return im;
    }

    /** cam = 1 on [y0,y1]×[x0,x1], 0 elsewhere. */
    private static float[] block(int H, int W, int y0, int y1, int x0, int x1) {
        float[] cam = new float[H * W];
        for (int y = y0; y <= y1; y++) for (int x = x0; x <= x1; x++) cam[y * W + x] = 1f;
        return cam;
    }

    @Test
    void uniformImageStaysUniformUnderBlur() {
        int H = 20, W = 27;
        byte[] im = fill(H, W, 200, 37, 255);
        float[] cam = block(H, W, 5, 9, 4, 12);
        assertArrayEquals(im, VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.of(Effect.BLUR)));
    }

    @Test
    void blurChangesCheckerboardOutsideOnly() {
        int H = 24, W = 30;
        byte[] im = new byte[H * W * 3];
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) for (int c = 0; c < 3; c++) {
            im[(y * W + x) * 3 + c] = (byte) (((x + y) & 1) == 0 ? 250 : 5);
        }
        float[] cam = block(H, W, 6, 15, 8, 20);
        byte[] out = VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.of(Effect.BLUR));
        int changed = 0;
        for (int i = 0; i < H * W; i++) for (int c = 0; c < 3; c++) {
            if (cam[i] > 0.5f) assertEquals(im[3 * i + c], out[3 * i + c], "inside pixel " + i);
            else if (im[3 * i + c] != out[3 * i + c]) changed++;
        }
        assertTrue(changed > 0.9 * 3 * (H * W - 10 * 13), "blurred outside values: " + changed);
        // far from the mask a 15×15 blur of a ±122.5 checkerboard is close to the mean 127.5
        int v = px(out, W, 0, 0, 0);
        assertTrue(Math.abs(v - 127.5) < 20, "blurred corner " + v);
    }

    @Test
    void grayOutsideUsesTheSwappedWeights() {
        int H = 4, W = 5;
        byte[] im = fill(H, W, 200, 100, 50);
        float[] cam = block(H, W, 1, 2, 1, 3);
        byte[] out = VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.of(Effect.GRAY));
        // BGR2GRAY on RGB data: 0.114·R + 0.587·G + 0.299·B = 22.8 + 58.7 + 14.95 = 96.45 -> 96
        // fixed point: (200·3735 + 100·19235 + 50·9798 + 16384) >> 15 = 3176784 >> 15 = 96
        // (the correct luma 0.299·R + 0.587·G + 0.114·B would be 124)
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) {
            boolean in = cam[y * W + x] > 0.5f;
            assertEquals(in ? 200 : 96, px(out, W, y, x, 0));
            assertEquals(in ? 100 : 96, px(out, W, y, x, 1));
            assertEquals(in ? 50 : 96, px(out, W, y, x, 2));
        }
        byte[] black = VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.of(Effect.BLACK, Effect.GRAY));
        for (int i = 0; i < H * W; i++) {
            assertEquals(cam[i] > 0.5f ? 200 : 0, black[3 * i] & 0xff);
        }
    }

    @Test
    void circleIsARedRingOnTheAnalyticEllipse() {
        int H = 60, W = 80;
        byte[] im = fill(H, W, 30, 30, 30);
        float[] cam = block(H, W, 10, 40, 15, 64); // bw 50, bh 31; centroid x 39.5 -> 39, y 25
        byte[] out = VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.of(Effect.CIRCLE));
        double cx = 39, cy = 25, a = 25, b = 15;
        int drawn = 0;
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) {
            if (px(out, W, y, x, 0) == 30 && px(out, W, y, x, 1) == 30 && px(out, W, y, x, 2) == 30) continue;
            assertTrue(red(out, W, y, x), "non-red change at " + x + "," + y);
            drawn++;
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 3600; i++) {
                double t = 2 * Math.PI * i / 3600;
                best = Math.min(best, Math.hypot(x - cx - a * Math.cos(t), y - cy - b * Math.sin(t)));
            }
            assertTrue(best <= 1.0, "pixel " + x + "," + y + " is " + best + " px off the ellipse");
        }
        int covered = 0;
        for (int i = 0; i < 360; i++) {
            double t = 2 * Math.PI * i / 360;
            long ex = Math.round(cx + a * Math.cos(t)), ey = Math.round(cy + b * Math.sin(t));
            boolean any = false;
            for (long dy = -1; dy <= 1; dy++) for (long dx = -1; dx <= 1; dx++) {
                long yy = ey + dy, xx = ex + dx;
                if (yy >= 0 && xx >= 0 && yy < H && xx < W && red(out, W, (int) yy, (int) xx)) any = true;
            }
            if (any) covered++;
        }
        assertTrue(drawn > 0);
        assertTrue(covered >= 288, "covered " + covered + " of 360 degrees");
    }

    @Test
    void rectangleOutlineAtExactCoordinates() {
        int H = 20, W = 30;
        byte[] im = fill(H, W, 0, 0, 0);
        float[] cam = block(H, W, 4, 10, 6, 15); // bw 10 -> 5, bh 7 -> 3; centroid (x 10, y 7)
        byte[] out = VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.of(Effect.RECTANGLE));
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) {
            boolean edge = (x >= 5 && x <= 15 && (y == 4 || y == 10)) || (y >= 4 && y <= 10 && (x == 5 || x == 15));
            assertEquals(edge, red(out, W, y, x), "at " + x + "," + y);
        }
    }

    @Test
    void contourPixelsAreBoundaryPixelsOfTheFilledMask() {
        int H = 12, W = 14;
        byte[] im = fill(H, W, 50, 50, 50);
        float[] cam = block(H, W, 2, 9, 3, 11);
        cam[5 * W + 7] = 0; // a hole, filled before the boundary is taken
        boolean[][] in = new boolean[H][W];
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) in[y][x] = cam[y * W + x] > 0.5f;
        in[5][7] = true;
        byte[] out = VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.of(Effect.CONTOUR));
        int n = 0;
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) {
            boolean bnd = in[y][x] && (y == 0 || !in[y - 1][x] || y == H - 1 || !in[y + 1][x]
                    || x == 0 || !in[y][x - 1] || x == W - 1 || !in[y][x + 1]);
            assertEquals(bnd, red(out, W, y, x), "at " + x + "," + y);
            if (bnd) n++;
        }
        assertEquals(2 * 8 + 2 * 9 - 4, n);
    }

    @Test
    void smallCamSumLeavesTheImageUnchanged() {
        int H = 5, W = 6;
        byte[] im = new byte[H * W * 3];
        for (int i = 0; i < im.length; i++) im[i] = (byte) (i * 37);
        float[] cam = new float[H * W];
        cam[3] = 1f; // Σcam = 1: no prompt
        byte[] out = VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.allOf(Effect.class));
        assertArrayEquals(im, out);
        assertNotEquals(im, out); // a new array
        cam[4] = 0.5f;
        assertNotEquals(java.util.Arrays.toString(im),
                java.util.Arrays.toString(VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.of(Effect.BLACK))));
        assertArrayEquals(im, VisualPrompt.apply(im, cam, H, W, 0.5f, EnumSet.noneOf(Effect.class)));
        assertEquals(0, VisualPrompt.apply(new byte[0], new float[0], 0, 7, 0.5f, Set.of(Effect.BLUR)).length);
    }

    @Test
    void argumentErrors() {
        byte[] im = new byte[2 * 3 * 3];
        float[] cam = new float[6];
        Set<Effect> blur = EnumSet.of(Effect.BLUR);
        assertThrows(IllegalArgumentException.class, () -> VisualPrompt.apply(im, cam, -2, -3, 0.5f, blur));
        assertThrows(IllegalArgumentException.class, () -> VisualPrompt.apply(im, cam, 3, 3, 0.5f, blur));
        assertThrows(IllegalArgumentException.class, () -> VisualPrompt.apply(im, new float[5], 2, 3, 0.5f, blur));
        assertThrows(IllegalArgumentException.class, () -> VisualPrompt.apply(new byte[17], cam, 2, 3, 0.5f, blur));
        assertThrows(NullPointerException.class, () -> VisualPrompt.apply(null, cam, 2, 3, 0.5f, blur));
        assertThrows(NullPointerException.class, () -> VisualPrompt.apply(im, null, 2, 3, 0.5f, blur));
        assertThrows(NullPointerException.class, () -> VisualPrompt.apply(im, cam, 2, 3, 0.5f, null));
    }
}
