package org.ovseg.pipeline.sam;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The automatic mask generator's post-processing on hand-made cases: stability score, the
 * predicted-IoU and stability filters, boxes, box NMS (torchvision's rules), the prompt grid, the
 * resize shape, and the fused two-stage upsampling against a naive double-precision one.
 */
class SamAutomaticMasksTest {
    @Test
    void stabilityScoreCountsAboveBothOffsets() {
        float[] logits = {2f, 1.5f, 1f, 0.5f, -0.5f, -1f, -2f};
        // > 1: {2, 1.5} = 2; > -1: {2, 1.5, 1, 0.5, -0.5} = 5 (strict at both ends)
        assertEquals(0.4f, SamAutomaticMasks.stabilityScore(logits, 0f, 1f), 0f);
        assertEquals(1f, SamAutomaticMasks.stabilityScore(new float[] {3f, 4f}, 0f, 1f), 0f);
        assertTrue(Float.isNaN(SamAutomaticMasks.stabilityScore(new float[] {-3f, -4f}, 0f, 1f)), "0/0: dropped by any filter");
        assertEquals(2f / 3f, SamAutomaticMasks.stabilityScore(new float[] {5f, 5f, 4.1f, 0f}, 4f, 0.25f), 1e-7f);
    }

    /** A low-res candidate of constant logits, upsampled to 6 × 4, through the filters. */
    private static SamMask constant(float logit, float iou, SamOptions o) {
        int L = 4;
        float[] low = new float[L * L];
        java.util.Arrays.fill(low, logit);
        SamAutomaticMasks.Upsampler up = new SamAutomaticMasks.Upsampler(L, 16, 16, 16, 4, 6);
        return SamAutomaticMasks.candidate(low, 0, iou, up, o, 0f, 1, 2);
    }

    @Test
    void filtersByPredictedIouAndStability() {
        SamOptions o = SamOptions.DEFAULTS; // IoU > 0.88, stability >= 0.95
        SamMask m = constant(5f, 0.9f, o);
        assertNotNull(m);
        assertEquals(24, m.area());
        assertEquals(1f, m.stabilityScore());
        assertArrayEquals(new int[] {0, 0, 5, 3}, m.box());
        assertNull(constant(5f, 0.88f, o), "the IoU filter is strict");
        assertNull(constant(0.5f, 0.95f, o), "logits in (0, 1]: stability 0");
        assertNull(constant(-5f, 0.95f, o), "nothing above -1: NaN stability");
        SamOptions noFilters = o.withThresholds(0, 0, 0.7);
        SamMask empty = constant(-5f, -0.3f, noFilters);
        assertNotNull(empty, "thresholds of 0 switch the filters off");
        assertEquals(0, empty.area());
        assertArrayEquals(new int[4], empty.box(), "an empty mask's box is zeros");
        SamMask half = constant(0.5f, 0.2f, noFilters);
        assertEquals(24, half.area());
        assertEquals(0f, half.stabilityScore());
    }

    @Test
    void boxesAreInclusive() {
        int W = 5, H = 4;
        boolean[] m = new boolean[W * H];
        m[1 * W + 2] = m[2 * W + 3] = m[2 * W + 1] = true;
        assertArrayEquals(new int[] {1, 1, 3, 2}, SamAutomaticMasks.box(m, W, H));
        assertArrayEquals(new int[4], SamAutomaticMasks.box(new boolean[W * H], W, H));
    }

    @Test
    void nmsKeepsTheBestAndDropsOverlapsAboveTheThreshold() {
        int[][] boxes = {
            {0, 0, 10, 10},   // 0: 0.9
            {1, 1, 11, 11},   // 1: 0.8, IoU with 0 = 81 / 119 = 0.681
            {20, 20, 30, 30}, // 2: 0.95, disjoint
            {0, 0, 10, 10},   // 3: 0.9, same score and box as 0: the lower index wins
            {5, 5, 5, 5},     // 4: 0.99, a point: area 0, IoU 0 with everything
        };
        float[] scores = {0.9f, 0.8f, 0.95f, 0.9f, 0.99f};
        assertArrayEquals(new int[] {4, 2, 0, 1}, SamAutomaticMasks.nms(boxes, scores, 0.7));
        assertArrayEquals(new int[] {4, 2, 0}, SamAutomaticMasks.nms(boxes, scores, 0.68));
        assertArrayEquals(new int[] {4, 2, 0, 3, 1}, SamAutomaticMasks.nms(boxes, scores, 1.0), "IoU 1 is not above 1");
        // Two identical zero-area boxes: 0/0 is NaN, which never suppresses (as in torchvision).
        assertArrayEquals(new int[] {0, 1}, SamAutomaticMasks.nms(new int[][] {{3, 3, 3, 8}, {3, 3, 3, 8}}, new float[] {0.5f, 0.4f}, 0.7));
        assertEquals(0, SamAutomaticMasks.nms(new int[0][], new float[0], 0.7).length);
    }

    @Test
    void promptGridAndResizeShapeFollowSegmentAnything() {
        double[][] g = SamAutomaticMasks.pointGrid(2, 100, 50);
        assertArrayEquals(new double[] {25, 12.5}, g[0], 1e-12);
        assertArrayEquals(new double[] {75, 12.5}, g[1], 1e-12, "x varies fastest");
        assertArrayEquals(new double[] {25, 37.5}, g[2], 1e-12);
        assertArrayEquals(new double[] {75, 37.5}, g[3], 1e-12);
        assertArrayEquals(new double[] {50, 25}, SamAutomaticMasks.pointGrid(1, 100, 50)[0], 1e-12);
        double[][] g32 = SamAutomaticMasks.pointGrid(32, 1, 1);
        assertEquals(1.0 / 64, g32[0][0], 1e-15);
        assertEquals(1 - 1.0 / 64, g32[31][0], 0.0, "the last grid value is exact, as numpy.linspace's");
        assertArrayEquals(new int[] {768, 1024}, SamAutomaticMasks.preprocessShape(375, 500, 1024));
        assertArrayEquals(new int[] {1024, 1024}, SamAutomaticMasks.preprocessShape(513, 513, 1024));
        assertArrayEquals(new int[] {341, 1024}, SamAutomaticMasks.preprocessShape(333, 1000, 1024), "340.992 rounds up");
        assertArrayEquals(new int[] {1024, 512}, SamAutomaticMasks.preprocessShape(2000, 1000, 1024));
    }

    /** F.interpolate(bilinear, align_corners=False), in double, one axis at a time. */
    private static double[] naiveResize(double[] src, int inH, int inW, int outH, int outW) {
        double[] out = new double[outH * outW];
        for (int y = 0; y < outH; y++) {
            double sy = Math.max(0, (y + 0.5) * inH / outH - 0.5);
            int y0 = Math.min((int) sy, inH - 1), y1 = Math.min(y0 + 1, inH - 1);
            double ly = sy - y0;
            for (int x = 0; x < outW; x++) {
                double sx = Math.max(0, (x + 0.5) * inW / outW - 0.5);
                int x0 = Math.min((int) sx, inW - 1), x1 = Math.min(x0 + 1, inW - 1);
                double lx = sx - x0;
                double top = src[y0 * inW + x0] * (1 - lx) + src[y0 * inW + x1] * lx;
                double bot = src[y1 * inW + x0] * (1 - lx) + src[y1 * inW + x1] * lx;
                out[y * outW + x] = top * (1 - ly) + bot * ly;
            }
        }
        return out;
    }

    @Test
    void fusedUpsamplingMatchesTwoResizesAndACrop() {
        int L = 16, S = 64, nh = 48, nw = 64;
        Random rnd = new Random(7);
        float[] low = new float[2 * L * L];
        for (int i = 0; i < low.length; i++) low[i] = (float) (rnd.nextGaussian() * 10);
        for (int[] out : new int[][] {{37, 50}, {96, 128}, {48, 64}, {1, 1}}) {
            int H = out[0], W = out[1];
            SamAutomaticMasks.Upsampler up = new SamAutomaticMasks.Upsampler(L, S, nh, nw, H, W);
            double[] src = new double[L * L];
            for (int i = 0; i < src.length; i++) src[i] = low[L * L + i]; // the second plane
            double[] mid = naiveResize(src, L, L, S, S);
            double[] crop = new double[nh * nw];
            for (int y = 0; y < nh; y++) System.arraycopy(mid, y * S, crop, y * nw, nw);
            double[] want = naiveResize(crop, nh, nw, H, W);
            SamAutomaticMasks.Upsampler.Rows rows = up.rows();
            float[] row = new float[W];
            double worst = 0;
            for (int y = 0; y < H; y++) {
                up.row(low, L * L, y, rows, row);
                for (int x = 0; x < W; x++) worst = Math.max(worst, Math.abs(row[x] - want[y * W + x]));
            }
            assertTrue(worst < 1e-4, H + "x" + W + ": max error " + worst);
        }
    }
}
