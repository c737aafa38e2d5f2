package org.ovseg.pipeline.odise;

import java.util.Set;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.pipeline.Capability;
import org.ovseg.pipeline.PipelineFactory;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.pipeline.PipelineResources;
import org.ovseg.pipeline.SegmentationPipeline;

/**
 * ODISE behind the pipeline contract: bundle "odise", panoptic output (things as instances,
 * stuff classes merged into one segment each). A label may list synonyms separated by
 * {@value OdiseSettings#SYNONYM_SEPARATOR}; the best-scoring synonym speaks for the label, as in
 * the official category lists.
 */
public final class OdiseMethod implements PipelineFactory {
    /** The registry name. */
    public static final String NAME = "odise";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Set<Capability> capabilities() {
        return OdisePipeline.CAPABILITIES;
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
        return "builtin:colour-world-odise";
    }

    @Override
    public SegmentationPipeline open(ModelBundle bundle, PipelineOptions options, PipelineResources resources) {
        return OdisePipeline.open(bundle, OdiseSettings.of(bundle.manifest(), options), resources.engines(), resources.textCache());
    }
}
