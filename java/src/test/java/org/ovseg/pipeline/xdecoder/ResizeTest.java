package org.ovseg.pipeline.xdecoder;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The resampling matrices against PyTorch 2.13's own F.interpolate (values printed by
 * torch.nn.functional.interpolate on identity matrices, float64; see tools/export/export_xdecoder.py
 * aa_bicubic_matrix): antialiased bicubic down and up, and plain bilinear.
 */
class ResizeTest {
    private static void assertMatrix(float[] want, float[] got, double tol) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol, "entry " + i);
    }

    @Test
    void bicubicAntialiasDownsamplingMatchesTorch() {
        assertMatrix(new float[] {0.08668564f, 0.1073881f, 0.1235119f, 0.1327021f, 0.1327021f, 0.1235119f, 0.1073881f, 0.08668564f,
            0.06375916f, 0.0409635f, 0.02065345f, 0.005183804f, -0.003679356f, -0.008290816f, -0.00989338f, -0.009271978f,
            -0.009271978f, -0.00989338f, -0.008290816f, -0.003679356f, 0.005183804f, 0.02065345f, 0.0409635f, 0.06375916f,
            0.08668564f, 0.1073881f, 0.1235119f, 0.1327021f, 0.1327021f, 0.1235119f, 0.1073881f, 0.08668564f},
                Resize.bicubicAntialias(16, 2), 1e-6);
        assertMatrix(new float[] {0.3830645f, 0.4395161f, 0.2137097f, 0f, -0.03225806f, -0.004032258f, 0f, -0.03052503f, 0.04517705f,
            0.2759463f, 0.4188034f, 0.2759463f, 0.04517705f, -0.03052503f, 0f, -0.004032258f, -0.03225806f, 0f, 0.2137097f, 0.4395161f,
            0.3830645f}, Resize.bicubicAntialias(7, 3), 1e-6);
    }

    @Test
    void bicubicAntialiasUpsamplingAndIdentityMatchTorch() {
        assertMatrix(new float[] {1.099057f, -0.0990566f, 0f, 0f, 0.9384911f, 0.06583373f, -0.004324844f, 0f, 0.5294118f, 0.5294118f,
            -0.05882353f, 0f, 0.06819313f, 0.9721254f, -0.04031857f, 0f, -0.0735f, 0.8155f, 0.2895f, -0.0315f, -0.0315f, 0.2895f,
            0.8155f, -0.0735f, 0f, -0.04031857f, 0.9721254f, 0.06819313f, 0f, -0.05882353f, 0.5294118f, 0.5294118f, 0f, -0.004324844f,
            0.06583373f, 0.9384911f, 0f, 0f, -0.0990566f, 1.099057f}, Resize.bicubicAntialias(4, 10), 1e-6);
        float[] id = Resize.bicubicAntialias(5, 5);
        for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) assertEquals(i == j ? 1f : 0f, id[i * 5 + j], 1e-7);
    }

    @Test
    void bilinearMatchesTorch() {
        assertMatrix(new float[] {0.6666667f, 0.3333333f, 0f, 0f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 0f, 0f, 0.3333333f, 0.6666667f},
                Resize.bilinear(5, 3), 1e-6);
        assertMatrix(new float[] {1f, 0f, 0f, 0f, 0f, 0.5625f, 0.4375f, 0f, 0f, 0f, 0f, 0.9375f, 0.0625f, 0f, 0f, 0f, 0.3125f, 0.6875f, 0f,
            0f, 0f, 0f, 0.6875f, 0.3125f, 0f, 0f, 0f, 0.0625f, 0.9375f, 0f, 0f, 0f, 0f, 0.4375f, 0.5625f, 0f, 0f, 0f, 0f, 1f},
                Resize.bilinear(5, 8), 1e-6);
    }

    @Test
    void toOriginalIsCropOfUpsampleThenBilinear() {
        // composed map vs applying the three steps to a vector by naive loops
        int in = 6, padded = 24, valid = 21, original = 17;
        float[] v = new float[in];
        for (int i = 0; i < in; i++) v[i] = (float) Math.sin(1.3 * i) * 3;
        float[] up = Resize.bicubicAntialias(in, padded);
        double[] u = new double[padded];
        for (int i = 0; i < padded; i++) for (int j = 0; j < in; j++) u[i] += up[i * in + j] * v[j];
        float[] bl = Resize.bilinear(valid, original);
        float[] composed = Resize.toOriginal(in, padded, valid, original);
        for (int o = 0; o < original; o++) {
            double want = 0, got = 0;
            for (int i = 0; i < valid; i++) want += bl[o * valid + i] * u[i];
            for (int j = 0; j < in; j++) got += composed[o * in + j] * v[j];
            assertEquals(want, got, 1e-5);
        }
    }
}
