package org.ovseg.pipeline;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** An immutable set of {@link PipelineOption} values; an option that is absent takes the pipeline's default. */
public final class PipelineOptions {
    private final Map<PipelineOption<?>, Object> values;

    private PipelineOptions(Map<PipelineOption<?>, Object> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** @return no options: every pipeline default */
    public static PipelineOptions none() {
        return new PipelineOptions(Map.of());
    }

    /** @return a copy with {@code option} set (or removed when {@code value} is null) */
    public <T> PipelineOptions with(PipelineOption<T> option, T value) {
        Map<PipelineOption<?>, Object> m = new LinkedHashMap<>(values);
        if (value == null) m.remove(option);
        else m.put(option, option.type().cast(value));
        return new PipelineOptions(m);
    }

    /** @return the value, if set */
    public <T> Optional<T> get(PipelineOption<T> option) {
        return Optional.ofNullable(option.type().cast(values.get(option)));
    }

    /** @return the value, or {@code fallback} when unset */
    public <T> T get(PipelineOption<T> option, T fallback) {
        return get(option).orElse(fallback);
    }

    /** @return the options that are set */
    public Set<PipelineOption<?>> keys() {
        return values.keySet();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
