package org.ovseg.pipeline.maskclip;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.pipeline.common.SizePolicy;

/** How MaskCLIP's settings are layered: bundle defaults, then the preset, then explicit options. */
class MaskClipMethodTest {
    @TempDir
    static Path cache;

    @Test
    void explicitOptionsWinOverThePresetWhichWinsOverTheBundle() {
        ModelBundle bundle = BundleLoader.load(BuiltinBundles.resolve("builtin:colour-world", cache));
        MaskClipOptions plain = MaskClipMethod.settings(bundle, PipelineOptions.none());
        var pre = bundle.manifest().preprocessing();
        assertEquals(new SizePolicy(pre.size(), pre.maxLongSide()), plain.size());

        MaskClipPreset context = MaskClipPreset.named("context");
        MaskClipOptions preset = MaskClipMethod.settings(bundle, PipelineOptions.none().with(PipelineOption.PRESET, "context"));
        assertEquals(MaskClipOptions.defaults().withPreset(context).size(), preset.size());
        assertEquals(MaskClipOptions.defaults().withPreset(context).templates().name(), preset.templates().name());

        MaskClipOptions both = MaskClipMethod.settings(bundle, PipelineOptions.none().with(PipelineOption.PRESET, "context")
                .with(PipelineOption.SIZE, 300).with(PipelineOption.TEMPLATES, "single").with(PipelineOption.WINDOW, 224)
                .with(PipelineOption.STRIDE, 112));
        assertEquals(SizePolicy.shortSide(300), both.size());
        assertEquals("single", both.templates().name());
        assertEquals(224, both.window());
        assertEquals(112, both.stride());
        assertEquals(preset.normalization(), both.normalization(), "the preset's normalisation stays");
    }
}
