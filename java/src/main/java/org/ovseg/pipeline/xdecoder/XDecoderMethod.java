package org.ovseg.pipeline.xdecoder;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ovseg.OvsegException;
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
import org.ovseg.tensor.HostTensor;

/**
 * X-Decoder (Zou et al., CVPR 2023) behind the pipeline contract: bundle "xdecoder". Generic
 * segmentation gives the official semantic inference as the label map and Mask2Former's panoptic
 * inference as the segments (request things are instances, stuff one segment per class), and
 * Mask2Former's instance inference as the instances (thing classes only, as with panoptic on; every
 * class when the request names no stuff). Referring
 * requests run the decoder once in grounding mode with all sentences' tokens (the official
 * multi-sentence grounding evaluation) and choose one query, hence one mask, per sentence: each
 * sentence describes its own object ({@link SegmentationPipeline#referSentencesAreOneObject()} is
 * false), so label i covers the pixels of sentence i's mask (sigmoid > 0.5, as that evaluation); a
 * pixel in several masks goes to the sentence with the largest mask logit there, the earlier sentence
 * on a tie. Every sentence's chosen query and full mask area are in the steps, and with
 * --save-logits each sentence's mask logits are a plane (its own mask, overlaps included: logit > 0).
 */
public final class XDecoderMethod implements PipelineFactory {
    /** The registry name. */
    public static final String NAME = "xdecoder";
    private static final Set<Capability> CAPABILITIES =
            Collections.unmodifiableSet(EnumSet.of(Capability.REFER, Capability.PANOPTIC, Capability.LOGITS));

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
        return Set.of(PipelineOption.SIZE, PipelineOption.KEEP_LOGITS);
    }

    @Override
    public Set<String> presets() {
        return Set.of();
    }

    @Override
    public String demoModel() {
        return "builtin:colour-world-xdecoder";
    }

    @Override
    public SegmentationPipeline open(ModelBundle bundle, PipelineOptions options, PipelineResources resources) {
        int size = options.get(PipelineOption.SIZE, bundle.manifest().preprocessing().size());
        if (size < 32) throw new OvsegException("--size must be at least 32 for X-Decoder, got " + size);
        XDecoderModel model = XDecoderModel.open(bundle, resources.engines(), resources.textCache());
        return new Opened(model, size, options.get(PipelineOption.KEEP_LOGITS, false), bundle.manifest().text().contextLength());
    }

    /** One opened X-Decoder model. */
    static final class Opened implements SegmentationPipeline {
        private final XDecoderModel model;
        private final int size;
        private final boolean keepLogits;
        private final int contextLength;

        Opened(XDecoderModel model, int size, boolean keepLogits, int contextLength) {
            this.model = model;
            this.size = size;
            this.keepLogits = keepLogits;
            this.contextLength = contextLength;
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
            return Collections.unmodifiableMap(model.backends);
        }

        @Override
        public Map<String, String> precisions() {
            return Collections.unmodifiableMap(model.precisions);
        }

        @Override
        public boolean referSentencesAreOneObject() {
            return false;
        }

        @Override
        public void validate(List<String> texts) {
            // Sentences are truncated to the context as the official tokenizer does (truncation=True);
            // class names that do not fit a template are rejected, naming the prompt, when embedded.
        }

        @Override
        public PipelineOutput run(RgbImage image, PipelineRequest request) {
            Map<String, Double> timings = new LinkedHashMap<>();
            long t = System.nanoTime();
            XDecoderModel.Input in = model.preprocess(image, size);
            Map<String, HostTensor> feats = model.features(in);
            timings.put("backbone", ms(t));
            Map<String, HostTensor> mats = XDecoderModel.resampling(feats);
            try {
                HostTensor mf = feats.get("mask_features");
                int h4 = (int) mf.dim(2), w4 = (int) mf.dim(3);
                int h = image.height(), w = image.width();
                float[] ay = Resize.toOriginal(h4, in.paddedH(), in.validH(), h);
                float[] ax = Resize.toOriginal(w4, in.paddedW(), in.validW(), w);
                if (request instanceof PipelineRequest.Refer r) return refer(r.sentences(), feats, mats, h4, w4, ay, ax, h, w, timings);
                PipelineRequest.Segment s = (PipelineRequest.Segment) request;
                List<String> names = s.names();
                t = System.nanoTime();
                float[] classEmb = model.classEmbeddings(names);
                timings.put("text", ms(t));
                t = System.nanoTime();
                Map<String, HostTensor> dec = model.decode(feats, mats, classEmb, names.size() + 1);
                float[] logits, masks;
                int queries;
                try {
                    logits = dec.get("pred_logits").toFloatArray();
                    masks = dec.get("pred_masks").toFloatArray();
                    queries = (int) dec.get("pred_logits").dim(0);
                } finally {
                    dec.values().forEach(HostTensor::close);
                }
                timings.put("decoder", ms(t));
                t = System.nanoTime();
                Postprocess.Result res = Postprocess.run(logits, masks, queries, names.size(), h4, w4, ay, h, ax, w, s.things().size(),
                        model.objectThreshold, model.overlapThreshold, keepLogits);
                timings.put("postprocess", ms(t));
                return new PipelineOutput(w, h, res.labels(), res.scores(), res.maps(), res.panoptic(), List.of(), timings, res.instances());
            } finally {
                feats.values().forEach(HostTensor::close);
                mats.values().forEach(HostTensor::close);
            }
        }

        private PipelineOutput refer(List<String> sentences, Map<String, HostTensor> feats, Map<String, HostTensor> mats, int h4, int w4,
                float[] ay, float[] ax, int h, int w, Map<String, Double> timings) {
            long t = System.nanoTime();
            XDecoderModel.Sentences s = model.sentences(sentences, contextLength);
            timings.put("text", ms(t));
            t = System.nanoTime();
            Map<String, HostTensor> g = model.ground(feats, mats, s);
            float[] masks, emb;
            int queries;
            try {
                masks = g.get("grounding_masks").toFloatArray();
                emb = g.get("grounding_emb").toFloatArray();
                queries = (int) g.get("grounding_emb").dim(0);
            } finally {
                g.values().forEach(HostTensor::close);
            }
            timings.put("decoder", ms(t));
            t = System.nanoTime();
            int[] chosen = Postprocess.chooseQueries(emb, queries, s.classEmb(), s.count(), model.dim);
            int n = h * w;
            int[] labels = new int[n];
            float[] scores = new float[n];
            java.util.Arrays.fill(labels, -1);
            List<Map<String, Object>> steps = new ArrayList<>();
            float[] planes = keepLogits ? new float[sentences.size() * n] : null;
            float[] best = new float[n];
            for (int i = 0; i < sentences.size(); i++) {
                float[] up = Postprocess.upsample(masks, chosen[i], h4, w4, ay, h, ax, w);
                if (planes != null) System.arraycopy(up, 0, planes, i * n, n);
                long area = Postprocess.claim(up, i, labels, best);
                Map<String, Object> step = new LinkedHashMap<>();
                step.put("sentence", sentences.get(i));
                step.put("query", chosen[i]);
                step.put("area", area);
                steps.add(step);
            }
            for (int p = 0; p < n; p++) if (labels[p] >= 0) scores[p] = (float) (1.0 / (1.0 + Math.exp(-best[p])));
            timings.put("postprocess", ms(t));
            return new PipelineOutput(w, h, labels, scores, planes, null, steps, timings);
        }

        private static double ms(long t0) {
            return (System.nanoTime() - t0) / 1e6;
        }

        @Override
        public void close() {
            model.close();
        }
    }
}
