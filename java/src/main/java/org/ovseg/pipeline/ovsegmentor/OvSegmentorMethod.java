package org.ovseg.pipeline.ovsegmentor;

import java.util.Collections;
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
 * OVSegmentor behind the pipeline contract: bundle "ovsegmentor", semantic labels (stuff classes
 * are labels like any other), background where no group is confident enough.
 */
public final class OvSegmentorMethod implements PipelineFactory {
    /** The registry name. */
    public static final String NAME = "ovsegmentor";
    /** The official top-k class restriction. */
    static final int TOP_K = 5;
    /** The official default (the VOC config the demo and training evaluation use). */
    static final float DEFAULT_BG_THRESHOLD = 0.95f;
    private static final Set<Capability> CAPABILITIES = Collections.unmodifiableSet(EnumSet.of(Capability.LOGITS));

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
                PipelineOption.KEEP_LOGITS, PipelineOption.BG_THRESHOLD);
    }

    @Override
    public Set<String> presets() {
        return Set.copyOf(OvSegmentorPreset.NAMES);
    }

    @Override
    public String demoModel() {
        return "builtin:colour-world-ovseg";
    }

    @Override
    public SegmentationPipeline open(ModelBundle bundle, PipelineOptions options, PipelineResources resources) {
        OvSegmentorSettings settings = settings(bundle, options);
        ProfileHints hints = ProfileHints.of(bundle.manifest()).withShortSide(settings.size().shortSide(), settings.size().longSideMax());
        OvSegmentorModel model = OvSegmentorModel.load(bundle, resources.engines(), resources.textCache(), hints);
        return new Opened(model, new OvSegmentorPipeline(model, settings));
    }

    /** The bundle's defaults, then the preset's official settings, then the options set explicitly. */
    static OvSegmentorSettings settings(ModelBundle bundle, PipelineOptions o) {
        Map<String, Object> defaults = bundle.manifest().defaults();
        var pre = bundle.manifest().preprocessing();
        float bg = number(defaults.get("bg_threshold"), DEFAULT_BG_THRESHOLD);
        int window = (int) number(defaults.get("window"), OvSegmentorPreset.WINDOW);
        int stride = (int) number(defaults.get("stride"), window / 2f);
        SizePolicy size = new SizePolicy(pre.size(), pre.maxLongSide());
        if (o.get(PipelineOption.PRESET).isPresent()) {
            OvSegmentorPreset p = OvSegmentorPreset.named(o.get(PipelineOption.PRESET).get());
            bg = p.bgThreshold();
            window = OvSegmentorPreset.WINDOW;
            stride = OvSegmentorPreset.STRIDE;
            size = new SizePolicy(OvSegmentorPreset.SIZE, OvSegmentorPreset.MAX_LONG_SIDE);
        }
        if (o.get(PipelineOption.SIZE).isPresent()) size = SizePolicy.shortSide(o.get(PipelineOption.SIZE).get());
        if (o.get(PipelineOption.WINDOW).isPresent()) {
            window = o.get(PipelineOption.WINDOW).get();
            stride = o.get(PipelineOption.STRIDE, window / 2);
        }
        bg = o.get(PipelineOption.BG_THRESHOLD, bg);
        List<String> bundleTemplates = bundle.manifest().text().templates();
        PromptTemplates templates = o.get(PipelineOption.TEMPLATES).map(PromptTemplates::named).orElseGet(() -> bundleTemplates.isEmpty()
                ? PromptTemplates.named(bundle.manifest().text().templateSet()) : new PromptTemplates("bundle", bundleTemplates));
        return new OvSegmentorSettings(size, window, stride, bg, TOP_K, templates, o.get(PipelineOption.KEEP_LOGITS, false));
    }

    private static float number(Object o, float fallback) {
        return o instanceof Number n ? n.floatValue() : fallback;
    }

    /** One opened OVSegmentor model. */
    private static final class Opened implements SegmentationPipeline {
        private final OvSegmentorModel model;
        private final OvSegmentorPipeline pipeline;
        private final Map<String, String> backends = new LinkedHashMap<>();

        Opened(OvSegmentorModel model, OvSegmentorPipeline pipeline) {
            this.model = model;
            this.pipeline = pipeline;
            backends.put(OvSegmentorModel.STAGE1, SegmentationPipeline.backendLabel(model.stage1()));
            backends.put(OvSegmentorModel.STAGE2, SegmentationPipeline.backendLabel(model.stage2()));
            backends.put(OvSegmentorModel.TEXT, SegmentationPipeline.backendLabel(model.textEngine()));
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
            return Collections.unmodifiableMap(backends);
        }

        @Override
        public void validate(List<String> texts) {
            // The official tokenizer call truncates (truncation=True): every text fits.
        }

        @Override
        public PipelineOutput run(RgbImage image, PipelineRequest request) {
            return pipeline.segment(image, request.names());
        }

        @Override
        public void close() {
            model.close();
        }
    }
}
