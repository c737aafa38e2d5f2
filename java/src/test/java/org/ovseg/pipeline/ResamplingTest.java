package org.ovseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.ovseg.pipeline.common.Bicubic;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.pipeline.common.SizePolicy;

/**
 * Resampling against naive per-pixel formulas written from PyTorch's documented semantics
 * (half-pixel centres, align_corners=False), and against hand-computed cases. Tolerance 1e-5.
 */
class ResamplingTest {
    /** Bilinear, written directly from the definition, one output value at a time. */
    static double naiveBilinear(float[] src, int inW, int inH, int outW, int outH, int x, int y) {
        double sx = Math.max(0, (x + 0.5) * inW / outW - 0.5), sy = Math.max(0, (y + 0.5) * inH / outH - 0.5);
        int x0 = Math.min((int) sx, inW - 1), y0 = Math.min((int) sy, inH - 1);
        int x1 = Math.min(x0 + 1, inW - 1), y1 = Math.min(y0 + 1, inH - 1);
        double fx = sx - x0, fy = sy - y0;
        return (1 - fy) * ((1 - fx) * src[y0 * inW + x0] + fx * src[y0 * inW + x1]) + fy * ((1 - fx) * src[y1 * inW + x0] + fx * src[y1 * inW + x1]);
    }

    @ParameterizedTest
    @CsvSource({"7,5,19,13", "32,21,512,333", "40,40,17,9", "1,1,5,3", "13,17,13,17"})
    void planesMatchNaiveBilinear(int inW, int inH, int outW, int outH) {
        SplittableRandom r = new SplittableRandom(inW * 31 + outH);
        int K = 3;
        float[] src = new float[K * inW * inH];
        for (int i = 0; i < src.length; i++) src[i] = (float) r.nextDouble(-1, 1);
        float[] up = Resampling.resizePlanes(src, K, inW, inH, outW, outH);
        for (int k = 0; k < K; k++) {
            float[] plane = java.util.Arrays.copyOfRange(src, k * inW * inH, (k + 1) * inW * inH);
            for (int y = 0; y < outH; y++)
                for (int x = 0; x < outW; x++)
                    assertEquals(naiveBilinear(plane, inW, inH, outW, outH, x, y), up[(k * outH + y) * outW + x], 1e-5);
        }
        int[] labels = new int[outW * outH];
        float[] scores = new float[outW * outH];
        Resampling.upsampleArgmax(src, K, inW, inH, outW, outH, labels, scores);
        for (int i = 0; i < labels.length; i++) {
            int best = 0;
            for (int k = 1; k < K; k++) if (up[k * outW * outH + i] > up[best * outW * outH + i]) best = k;
            assertEquals(best, labels[i]);
            assertEquals(up[best * outW * outH + i], scores[i], 1e-6);
        }
    }

    @ParameterizedTest
    @CsvSource({"5,4,23,17,31,29", "32,21,512,333,513,333", "3,3,3,3,7,2"})
    void twoStageStreamingEqualsMaterialisedTwoStage(int inW, int inH, int midW, int midH, int outW, int outH) {
        SplittableRandom r = new SplittableRandom(inW + 100L * outW);
        int K = 4;
        float[] src = new float[K * inW * inH];
        for (int i = 0; i < src.length; i++) src[i] = (float) r.nextDouble(-1, 1);
        float[] want = Resampling.resizePlanes(Resampling.resizePlanes(src, K, inW, inH, midW, midH), K, midW, midH, outW, outH);
        float[] full = new float[K * outW * outH];
        int[] labels = new int[outW * outH];
        Resampling.upsampleTwiceArgmax(src, K, inW, inH, midW, midH, outW, outH, labels, new float[outW * outH], full);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], full[i], 1e-6);
    }

    @Test
    void resizeNormalizeHandComputed() {
        // 2x1 image (0 and 255 in every channel) to 4x1: taps at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped).
        byte[] rgb = {0, 0, 0, (byte) 255, (byte) 255, (byte) 255};
        float[] out = Resampling.resizeNormalize(rgb, 2, 1, 4, 1, new float[] {0, 0, 0}, new float[] {1, 1, 1});
        assertArrayEquals(new float[] {0f, 0.25f, 0.75f, 1f}, java.util.Arrays.copyOf(out, 4), 1e-6f);
        float[] norm = Resampling.resizeNormalize(rgb, 2, 1, 2, 1, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
        assertArrayEquals(new float[] {-1f, 1f}, java.util.Arrays.copyOf(norm, 2), 1e-6f);
    }

    /** Keys' cubic convolution kernel W(x), a = -0.75, from its piecewise definition in |x|. */
    static double keys(double x) {
        double a = -0.75, t = Math.abs(x);
        if (t <= 1) return (a + 2) * t * t * t - (a + 3) * t * t + 1;
        if (t < 2) return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a;
        return 0;
    }

    @Test
    void bicubicMatchesDirectKernelSumAndKeepsConstants() {
        int in = 14, out = 37, C = 2;
        SplittableRandom rnd = new SplittableRandom(5);
        float[] g = new float[in * in * C];
        for (int i = 0; i < g.length; i++) g[i] = i % 2 == 0 ? 3.5f : (float) rnd.nextDouble(-1, 1);
        float[] r = Bicubic.resizeChannelsLast(g, in, in, C, out, out);
        double s = (double) in / out;
        for (int y = 0; y < out; y++) for (int x = 0; x < out; x++) {
            assertEquals(3.5f, r[(y * out + x) * C], 1e-5);
            // Direct sum over every source sample within reach, weights from the kernel of the distance.
            double sx = (x + 0.5) * s - 0.5, sy = (y + 0.5) * s - 0.5, want = 0;
            for (int j = (int) Math.floor(sy) - 1; j <= (int) Math.floor(sy) + 2; j++) {
                for (int i = (int) Math.floor(sx) - 1; i <= (int) Math.floor(sx) + 2; i++) {
                    int cj = Math.min(Math.max(j, 0), in - 1), ci = Math.min(Math.max(i, 0), in - 1);
                    want += keys(sy - j) * keys(sx - i) * g[(cj * in + ci) * C + 1];
                }
            }
            assertEquals(want, r[(y * out + x) * C + 1], 1e-5);
        }
        assertArrayEquals(g, Bicubic.resizeChannelsLast(g, in, in, C, in, in));
    }

    @Test
    void bicubicHandComputedTaps() {
        // 1-D, 4 -> 2: source coordinate (0 + 0.5) * 2 - 0.5 = 0.5, t = 0.5: Keys weights with a = -0.75 are
        // [-0.09375, 0.59375, 0.59375, -0.09375] over indices -1 (clamped to 0), 0, 1, 2.
        float[] src = {1, 2, 4, 8};
        float[] out = Bicubic.resizeChannelsLast(src, 1, 4, 1, 1, 2);
        assertEquals(-0.09375 * 1 + 0.59375 * 1 + 0.59375 * 2 - 0.09375 * 4, out[0], 1e-6);
    }

    @Test
    void sizePolicyFollowsMmcvRescale() {
        assertArrayEquals(new int[] {512, 512}, SizePolicy.shortSide(512).apply(513, 513));
        assertArrayEquals(new int[] {795, 512}, SizePolicy.shortSide(512).apply(517, 333));
        assertArrayEquals(new int[] {2048, 205}, new SizePolicy(512, 2048).apply(10000, 1000)); // long side caps
    }
}
