package org.ovseg.pipeline.car;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ovseg.OvsegException;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.Capability;
import org.ovseg.pipeline.PipelineFactory;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.pipeline.PipelineOutput;
import org.ovseg.pipeline.PipelineRequest;
import org.ovseg.pipeline.PipelineResources;
import org.ovseg.pipeline.SegmentationPipeline;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.pipeline.sam.SamAutomaticMasks;
import org.ovseg.pipeline.sam.SamOptions;

/**
 * CLIP-as-RNN behind the pipeline contract: bundle "car". Stuff classes run CaR's second pass
 * (things as Grad-CAM background); referring requests run its referring mode; the optional SAM
 * merge comes from {@link PipelineOption#SAM_BUNDLE}.
 */
public final class CarMethod implements PipelineFactory {
    /** The registry name. */
    public static final String NAME = "car";
    private static final Set<Capability> CAPABILITIES = java.util.Collections.unmodifiableSet(EnumSet.of(Capability.REFER, Capability.LOGITS));
    private static final Set<String> PRESETS = Set.copyOf(CarSettings.PRESETS);

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
        return Set.of(PipelineOption.PRESET, PipelineOption.KEEP_LOGITS, PipelineOption.GRADCAM_MEMORY, PipelineOption.SAM_BUNDLE,
                PipelineOption.SAM_OPTIONS);
    }

    @Override
    public Set<String> presets() {
        return PRESETS;
    }

    @Override
    public java.util.Optional<List<String>> presetLabels(String preset) {
        return CarSettings.classes(preset);
    }

    @Override
    public java.util.Optional<List<String>> presetStuff(String preset) {
        return CarSettings.stuffClasses(preset);
    }

    @Override
    public String demoModel() {
        return "builtin:colour-world-car";
    }

    @Override
    public SegmentationPipeline open(ModelBundle bundle, PipelineOptions options, PipelineResources resources) {
        // The bundle may name its own default preset (the built-in demo does; see its notes).
        Object bundlePreset = bundle.manifest().defaults().get("car_preset");
        String preset = options.get(PipelineOption.PRESET, bundlePreset instanceof String s ? s : "voc");
        if (options.get(PipelineOption.SAM_OPTIONS).isPresent() && options.get(PipelineOption.SAM_BUNDLE).isEmpty()) {
            throw new OvsegException("SAM settings (--sam-points) need a SAM bundle (--sam DIR)");
        }
        CarPipeline car = CarPipeline.open(bundle, resources.engines(), resources.textCache(), CarSettings.preset(preset),
                options.get(PipelineOption.GRADCAM_MEMORY, CarPipeline.DEFAULT_GRADCAM_MEMORY));
        SamAutomaticMasks sam = null;
        try {
            Path samDir = options.get(PipelineOption.SAM_BUNDLE).orElse(null);
            if (samDir != null) {
                ModelBundle samBundle = BundleLoader.load(samDir);
                if (!samBundle.manifest().pipeline().equals("sam")) {
                    throw new OvsegException("--sam " + samDir + " is a '" + samBundle.manifest().pipeline()
                            + "' bundle, not a SAM bundle (export one with tools/export/export_sam.py)");
                }
                sam = SamAutomaticMasks.open(samBundle, resources.engines(), options.get(PipelineOption.SAM_OPTIONS, SamOptions.CAR));
                car.useSam(sam, CarSettings.samThresholds(preset));
            }
            return new Opened(car, sam, preset, options.get(PipelineOption.KEEP_LOGITS, false));
        } catch (RuntimeException e) {
            try {
                car.close();
            } finally {
                if (sam != null) sam.close();
            }
            throw e;
        }
    }

    /** One opened CaR model (and its optional SAM). */
    private static final class Opened implements SegmentationPipeline {
        private final CarPipeline car;
        private final SamAutomaticMasks sam;
        private final String preset;
        private final boolean keepLogits;

        Opened(CarPipeline car, SamAutomaticMasks sam, String preset, boolean keepLogits) {
            this.car = car;
            this.sam = sam;
            this.preset = preset;
            this.keepLogits = keepLogits;
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
        public Map<String, String> precisions() {
            return car.precisions();
        }

        @Override
        public Map<String, String> backends() {
            Map<String, String> m = new LinkedHashMap<>(car.backends());
            if (sam != null) sam.backends().forEach((k, v) -> m.put("sam_" + k, v));
            return Collections.unmodifiableMap(m);
        }

        @Override
        public void validate(List<String> texts) {
            car.validate(texts);
        }

        @Override
        public PipelineOutput run(RgbImage image, PipelineRequest request) {
            if (request instanceof PipelineRequest.Refer r) return refer(image, r.sentences());
            PipelineRequest.Segment s = (PipelineRequest.Segment) request;
            long t0 = System.nanoTime();
            CarLoop.Result r = s.stuff().isEmpty() ? car.segment(image, s.things()) : car.segmentWithStuff(image, s.things(), s.stuff(), preset);
            return output(image, r, (System.nanoTime() - t0) / 1e6);
        }

        private PipelineOutput refer(RgbImage image, List<String> sentences) {
            long t0 = System.nanoTime();
            CarLoop.Referral ref = car.referral(image, sentences);
            boolean[] mask = ref.mask();
            int[] labels = new int[mask.length];
            float[] scores = new float[mask.length];
            for (int i = 0; i < mask.length; i++) {
                labels[i] = mask[i] ? 0 : -1;
                scores[i] = mask[i] ? 1f : 0f;
            }
            Map<String, Double> timings = new LinkedHashMap<>();
            timings.put("car-refer", (System.nanoTime() - t0) / 1e6);
            return new PipelineOutput(image.width(), image.height(), labels, scores, null, null, stepsJson(ref.steps()), timings);
        }

        private static List<Map<String, Object>> stepsJson(List<CarLoop.Step> recurrence) {
            List<Map<String, Object>> steps = new ArrayList<>();
            for (CarLoop.Step st : recurrence) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("queries", st.queries());
                List<Double> sc = new ArrayList<>();
                for (float f : st.scores()) sc.add((double) f);
                m.put("scores", sc);
                m.put("kept", st.kept());
                steps.add(m);
            }
            return steps;
        }

        private PipelineOutput output(RgbImage image, CarLoop.Result r, double totalMs) {
            int n = r.labels().length;
            float[] scores = new float[n];
            for (int i = 0; i < n; i++) scores[i] = r.labels()[i] < 0 ? 0f : r.scores()[r.labels()[i]];
            List<Map<String, Object>> steps = stepsJson(r.steps());
            Map<String, Double> timings = new LinkedHashMap<>(r.timingsMs());
            timings.put("total", totalMs);
            float[] logits = null;
            if (keepLogits) { // the final proposal maps (before the CRF), [Q, H, W] in the order of the last step
                long total = (long) r.proposals().length * n;
                if (total > Integer.MAX_VALUE - 8) {
                    throw new OvsegException("--save-logits: " + r.proposals().length + " CaR proposal maps of " + image.width() + "x" + image.height()
                            + " exceed a Java array (" + total + " floats); segment without logits or a smaller image");
                }
                logits = new float[(int) total];
                // Above CarLoop.MAX_WORKING_PIXELS the maps are at the working size: bilinear back to the image's.
                WorkingSize ws = CarLoop.workingSize(image.width(), image.height());
                for (int q = 0; q < r.proposals().length; q++) {
                    float[] m = ws.isIdentity() ? r.proposals()[q]
                            : Resampling.resizePlanes(r.proposals()[q], 1, ws.workWidth(), ws.workHeight(), image.width(), image.height());
                    System.arraycopy(m, 0, logits, q * n, n);
                }
            }
            return new PipelineOutput(image.width(), image.height(), r.labels(), scores, logits, null, steps, timings);
        }

        @Override
        public void close() {
            try {
                car.close();
            } finally {
                if (sam != null) sam.close();
            }
        }
    }
}
