package org.ovseg.pipeline;

import java.util.Set;
import org.ovseg.bundle.ModelBundle;

/** Opens one method's pipeline from a bundle whose manifest names the method ({@code "pipeline"}). */
public interface PipelineFactory {
    /** @return the name bundles use for the method */
    String name();

    /** @return what its pipelines can do */
    Set<Capability> capabilities();

    /** @return the options its pipelines accept */
    Set<PipelineOption<?>> options();

    /** @return the presets {@link PipelineOption#PRESET} accepts (empty: none) */
    Set<String> presets();

    /**
     * @param preset a name from {@link #presets()}
     * @return the class list the preset's official evaluation queries, when it ships one (used when
     *     a request names the preset but no labels)
     */
    default java.util.Optional<java.util.List<String>> presetLabels(String preset) {
        return java.util.Optional.empty();
    }

    /**
     * @param preset a name from {@link #presets()}
     * @return the stuff list of the preset's official evaluation, when it has a second (stuff)
     *     pass and ships the list; used with {@link #presetLabels} when a request names neither
     */
    default java.util.Optional<java.util.List<String>> presetStuff(String preset) {
        return java.util.Optional.empty();
    }

    /** @return the built-in demonstration model run when no model is named, e.g. "builtin:colour-world" */
    String demoModel();

    /**
     * Opens the networks and everything the method needs.
     *
     * @param options only options in {@link #options()} (the caller checked)
     * @throws org.ovseg.OvsegException when the bundle or an option is unusable
     */
    SegmentationPipeline open(ModelBundle bundle, PipelineOptions options, PipelineResources resources);
}
