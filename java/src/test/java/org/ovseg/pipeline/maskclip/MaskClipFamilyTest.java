package org.ovseg.pipeline.maskclip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.OvsegException;
import org.ovseg.api.Segmenter;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.pipeline.common.Resampling;

/** The MaskCLIP family's pieces that live in Java; the methods end to end are held to PyTorch in tools/ci/parity.sh. */
class MaskClipFamilyTest {
    @TempDir
    static Path cache;

    @Test
    void naclipBiasIsTheGaussianOfTheGridDistance() {
        int gw = 5, gh = 3, T = 1 + gw * gh;
        float[] b = FamilyHead.gaussianBias(gw, gh, 5.0);
        assertEquals(T * T, b.length);
        for (int i = 0; i < T; i++) {
            assertEquals(0f, b[i], "class token row");
            assertEquals(0f, b[i * T], "class token column");
        }
        // patch (y=0, x=0) is token 1; (y=2, x=4) is token 1 + 2·5 + 4 = 15: distance² 4 + 16 = 20
        assertEquals(1f, b[1 * T + 1], 1e-7);
        assertEquals((float) Math.exp(-20 / 50.0), b[1 * T + 15], 1e-7);
        assertEquals((float) Math.exp(-1 / 50.0), b[1 * T + 2], 1e-7);
        assertEquals(b[15 * T + 1], b[1 * T + 15], "symmetric");
    }

    @Test
    void proxyResampleMatrixIsTheBilinearResize() {
        SplittableRandom rng = new SplittableRandom(5);
        int gw = 7, gh = 4, fw = 13, fh = 9;
        float[] map = new float[gw * gh];
        for (int i = 0; i < map.length; i++) map[i] = (float) rng.nextGaussian();
        float[] m = FamilyHead.bilinearMatrix(gw, gh, fw, fh);
        float[] want = Resampling.resizePlanes(map, 1, gw, gh, fw, fh);
        for (int r = 0; r < fw * fh; r++) {
            double got = 0, rowSum = 0;
            for (int c = 0; c < gw * gh; c++) {
                got += m[r * gw * gh + c] * map[c];
                rowSum += m[r * gw * gh + c];
            }
            assertEquals(want[r], got, 1e-5, "row " + r);
            assertEquals(1.0, rowSum, 1e-6, "weights of row " + r);
        }
    }

    @Test
    void methodAndPamrReachTheOptions() {
        ModelBundle bundle = BundleLoader.load(BuiltinBundles.resolve("builtin:colour-world", cache));
        MaskClipOptions o = MaskClipMethod.settings(bundle, PipelineOptions.none().with(PipelineOption.METHOD, "NACLIP")
                .with(PipelineOption.PAMR, true).with(PipelineOption.PRESET, "sclip-protocol"));
        assertEquals(FamilyMethod.NACLIP, o.method());
        assertTrue(o.pamr());
        assertEquals(224, o.window());
        assertEquals(112, o.stride());
        assertEquals(336, o.size().shortSide());
        assertEquals("clip", o.normalization().name());
        assertEquals(FamilyMethod.MASKCLIP, MaskClipMethod.settings(bundle, PipelineOptions.none()).method());
        assertThrows(IllegalArgumentException.class, () -> MaskClipMethod.settings(bundle,
                PipelineOptions.none().with(PipelineOption.METHOD, "sclip").with(PipelineOption.KEY_SMOOTHING, 1f)),
                "key smoothing is MaskCLIP's refinement");
        assertThrows(IllegalArgumentException.class, () -> MaskClipMethod.settings(bundle,
                PipelineOptions.none().with(PipelineOption.METHOD, "gem")));
    }

    @Test
    void aBundleWithoutTheLastBlockSaysToReExport() {
        for (String m : new String[] {"sclip", "proxyclip"}) {
            var e = assertThrows(OvsegException.class, () -> {
                try (Segmenter s = Segmenter.builder().model("builtin:colour-world").method(m).cacheDir(cache).build()) {
                    s.pipeline();
                }
            });
            assertTrue(e.getMessage().contains("re-export"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Segmenter.builder().method("gem"));
    }

    @Test
    void pamrRefinesMaskClipLogitsAndKeepsClearRegions() {
        // the built-in demo on a half-red, half-green image: PAMR must change the logits (it ran)
        // and keep each half's colour
        byte[] rgb = new byte[64 * 48 * 3];
        for (int i = 0; i < 64 * 48; i++) rgb[3 * i + (i % 64 < 32 ? 0 : 1)] = (byte) 255;
        var img = new org.ovseg.image.RgbImage(64, 48, rgb);
        float[][] logits = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (Segmenter s = Segmenter.builder().model("builtin:colour-world").pamr(run == 1).keepLogits(true).cacheDir(cache).build()) {
                var r = s.segment(img, org.ovseg.api.Labels.parse("red, green, blue"));
                assertEquals(0, r.labelAt(8, 24));
                assertEquals(1, r.labelAt(56, 24));
                logits[run] = r.logits().orElseThrow();
            }
        }
        double diff = 0;
        for (int i = 0; i < logits[0].length; i++) diff = Math.max(diff, Math.abs(logits[0][i] - logits[1][i]));
        assertTrue(diff > 1e-4, "PAMR left the logits unchanged (max change " + diff + ")");
    }
}
