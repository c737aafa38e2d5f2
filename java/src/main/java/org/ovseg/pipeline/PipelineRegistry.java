package org.ovseg.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.ovseg.OvsegException;

/**
 * Every method ovseg runs, keyed by the bundle's {@code "pipeline"} name. Adding a method is a
 * new package under {@code pipeline/} and one line here; nothing in the API or the CLI changes.
 */
public final class PipelineRegistry {
    private static final Map<String, PipelineFactory> FACTORIES = new LinkedHashMap<>();

    static {
        register(new org.ovseg.pipeline.maskclip.MaskClipMethod());
        register(new org.ovseg.pipeline.car.CarMethod());
        register(new org.ovseg.pipeline.odise.OdiseMethod());
        register(new org.ovseg.pipeline.ovsegmentor.OvSegmentorMethod());
        register(new org.ovseg.pipeline.xdecoder.XDecoderMethod());
    }

    private PipelineRegistry() {}

    private static void register(PipelineFactory f) {
        FACTORIES.put(f.name(), f);
    }

    /** @return the registered method names, in registration order */
    public static List<String> names() {
        return List.copyOf(FACTORIES.keySet());
    }

    /** @return the factory for {@code name}, if one is registered */
    public static Optional<PipelineFactory> find(String name) {
        return Optional.ofNullable(FACTORIES.get(name));
    }

    /**
     * @return the factory for {@code name}
     * @throws OvsegException naming the known pipelines when there is none
     */
    public static PipelineFactory get(String name) {
        return find(name).orElseThrow(() -> new OvsegException("unknown pipeline '" + name + "' (this version runs: "
                + String.join(", ", names()) + ")"));
    }

    /** @return the names of the pipelines that have {@code capability}, for error messages */
    public static List<String> having(Capability capability) {
        List<String> out = new ArrayList<>();
        for (PipelineFactory f : FACTORIES.values()) if (f.capabilities().contains(capability)) out.add(f.name());
        return out;
    }
}
