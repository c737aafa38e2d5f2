package org.ovseg.pipeline.maskclip;

import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.engine.ProfileHints;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.Capability;
import org.ovseg.pipeline.PipelineFactory;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.pipeline.PipelineOutput;
import org.ovseg.pipeline.PipelineRequest;
import org.ovseg.pipeline.PipelineResources;
import org.ovseg.pipeline.SegmentationPipeline;
import org.ovseg.pipeline.common.SizePolicy;
import org.ovseg.text.PromptTemplates;

/**
 * MaskCLIP behind the pipeline contract: bundle "maskclip", semantic labels only (stuff classes
 * are labels like any other: the dense classifier does not tell them apart).
 */
public final class MaskClipMethod implements PipelineFactory {
    /** The registry name. */
    public static final String NAME = "maskclip";
    private static final Set<Capability> CAPABILITIES = java.util.Collections.unmodifiableSet(EnumSet.of(Capability.LOGITS));

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }

    @Override
    public Set<PipelineOption<?>> options() {
        return Set.of(PipelineOption.PRESET, PipelineOption.SIZE, PipelineOption.WINDOW, PipelineOption.STRIDE, PipelineOption.TEMPLATES,
                PipelineOption.KEY_SMOOTHING, PipelineOption.PROMPT_DENOISING, PipelineOption.KEEP_LOGITS,
                PipelineOption.METHOD, PipelineOption.PAMR);
    }

    @Override
    public Set<String> presets() {
        return Set.copyOf(MaskClipPreset.NAMES);
    }

    @Override
    public String demoModel() {
        return "builtin:colour-world";
    }

    @Override
    public SegmentationPipeline open(ModelBundle bundle, PipelineOptions options, PipelineResources resources) {
        MaskClipOptions settings = settings(bundle, options);
        if (settings.method() != FamilyMethod.MASKCLIP) FamilyHead.requireSupport(bundle, settings.method());
        // TensorRT's profiles must cover the sizes this pipeline will feed, --size and presets included.
        ProfileHints hints = ProfileHints.of(bundle.manifest()).withShortSide(settings.size().shortSide(), settings.size().longSideMax());
        MaskClipModel model = MaskClipLoader.load(bundle, resources.engines(), resources.textCache(), hints);
        FamilyHead family = null;
        try {
            if (settings.method() != FamilyMethod.MASKCLIP) {
                family = FamilyHead.open(bundle, settings.method(), model.width(), resources.engines());
            }
            return new Opened(model, family, new MaskClipPipeline(model, settings, family));
        } catch (RuntimeException e) {
            if (family != null) family.close();
            model.close();
            throw e;
        }
    }

    /** The bundle's defaults, then the preset's official settings, then the options set explicitly. */
    static MaskClipOptions settings(ModelBundle bundle, PipelineOptions o) {
        var defaults = bundle.manifest().defaults();
        float ks = o.get(PipelineOption.KEY_SMOOTHING, number(defaults.get("key_smoothing")));
        float pd = o.get(PipelineOption.PROMPT_DENOISING, number(defaults.get("prompt_denoising")));
        String bundleTemplates = bundle.manifest().text().templateSet();
        String templates = o.get(PipelineOption.TEMPLATES, bundleTemplates != null ? bundleTemplates : "imagenet80");
        var pre = bundle.manifest().preprocessing();
        SizePolicy size = o.get(PipelineOption.SIZE).map(SizePolicy::shortSide).orElseGet(() -> new SizePolicy(pre.size(), pre.maxLongSide()));
        int window = o.get(PipelineOption.WINDOW, 0);
        int stride = o.get(PipelineOption.STRIDE, window == 0 ? 0 : window / 2);
        FamilyMethod method = FamilyMethod.named(o.get(PipelineOption.METHOD, FamilyMethod.MASKCLIP.cliName()));
        MaskClipOptions opts = new MaskClipOptions(size, window, stride, PromptTemplates.named(templates), ks, pd,
                o.get(PipelineOption.KEEP_LOGITS, false), null, method, o.get(PipelineOption.PAMR, false));
        if (o.get(PipelineOption.PRESET).isEmpty()) return opts;
        opts = opts.withPreset(MaskClipPreset.named(o.get(PipelineOption.PRESET).get()));
        if (o.get(PipelineOption.SIZE).isPresent()) opts = opts.withSize(size);
        if (o.get(PipelineOption.TEMPLATES).isPresent()) opts = opts.withTemplates(PromptTemplates.named(templates));
        if (window > 0) opts = opts.withWindow(window, stride);
        return opts;
    }

    private static float number(Object o) {
        return o instanceof Number n ? n.floatValue() : 0f;
    }

    /** One opened MaskCLIP model. */
    private static final class Opened implements SegmentationPipeline {
        private final MaskClipModel model;
        private final FamilyHead family;
        private final MaskClipPipeline pipeline;
        private final Map<String, String> backends = new LinkedHashMap<>();

        Opened(MaskClipModel model, FamilyHead family, MaskClipPipeline pipeline) {
            this.model = model;
            this.family = family;
            this.pipeline = pipeline;
            backends.put(MaskClipLoader.IMAGE, SegmentationPipeline.backendLabel(model.image()));
            backends.put(MaskClipLoader.TEXT, SegmentationPipeline.backendLabel(model.textEngine()));
            if (family != null) backends.putAll(family.backends());
        }

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public Set<Capability> capabilities() {
            return CAPABILITIES;
        }

        @Override
        public Map<String, String> backends() {
            return java.util.Collections.unmodifiableMap(backends);
        }

        @Override
        public void validate(List<String> texts) {
            pipeline.validateLabels(texts);
        }

        @Override
        public PipelineOutput run(RgbImage image, PipelineRequest request) {
            MaskClipOutput out = pipeline.segment(image, request.names());
            return new PipelineOutput(out.width(), out.height(), out.labels(), out.scores(), out.logits(), null, List.of(), out.timingsMs());
        }

        @Override
        public void close() {
            try {
                pipeline.close();
            } finally {
                try {
                    if (family != null) family.close();
                } finally {
                    model.close();
                }
            }
        }
    }
}
