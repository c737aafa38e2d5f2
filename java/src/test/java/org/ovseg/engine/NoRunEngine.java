package org.ovseg.engine;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.ovseg.tensor.HostTensor;

/**
 * A test double that only says which backend it is (and which file it was opened from): for
 * code that decides by {@link Engine#backend()} and must never run the network.
 *
 * @param backend what {@link #backend()} reports
 * @param file the ONNX file it stands for, or null
 */
public record NoRunEngine(Backend backend, Path file) implements Engine {
    /** An engine for no particular file. */
    public NoRunEngine(Backend backend) {
        this(backend, null);
    }

    @Override
    public List<TensorSpec> inputs() {
        return List.of();
    }

    @Override
    public List<TensorSpec> outputs() {
        return List.of();
    }

    @Override
    public Map<String, HostTensor> run(Map<String, HostTensor> inputs) {
        throw new UnsupportedOperationException("a NoRunEngine runs nothing");
    }

    @Override
    public void run(Map<String, HostTensor> inputs, Map<String, HostTensor> outputs) {
        throw new UnsupportedOperationException("a NoRunEngine runs nothing");
    }

    @Override
    public void close() {}
}
