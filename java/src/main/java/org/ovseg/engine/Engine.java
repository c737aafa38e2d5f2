package org.ovseg.engine;

import java.util.List;
import java.util.Map;
import org.ovseg.tensor.HostTensor;

/**
 * A frozen network ready to run: fixed weights, named inputs and outputs. Implementations say in
 * their Javadoc how far they may be shared between threads; {@link OnnxRuntimeEngine} and
 * {@link TensorRtEngine} may both be called from many threads at once.
 *
 * <p>{@link #close()} releases the backend's resources; it waits for runs in flight, and every
 * later call throws {@link IllegalStateException}.
 */
public interface Engine extends AutoCloseable {

    /** @return which backend runs this engine (never {@link Backend#AUTO}) */
    Backend backend();

    /** @return the graph inputs, in the model's order */
    List<TensorSpec> inputs();

    /** @return the graph outputs, in the model's order */
    List<TensorSpec> outputs();

    /**
     * Runs the network and returns every output in a new tensor that the caller owns (and must
     * close).
     *
     * @param inputs one tensor per graph input, by name; read, never kept or modified
     * @return output name → new tensor, in the model's output order
     * @throws EngineException when an input is missing, unknown, or of the wrong type or shape,
     *     or when the backend fails
     */
    Map<String, HostTensor> run(Map<String, HostTensor> inputs);

    /**
     * Runs the network writing into tensors the caller provides, so steady-state inference
     * allocates nothing. Only the outputs named in {@code outputs} are produced (at least one);
     * each must have the output's type and its exact shape for these inputs.
     *
     * @throws EngineException as {@link #run(Map)}, and when an output tensor does not fit
     */
    void run(Map<String, HostTensor> inputs, Map<String, HostTensor> outputs);

    /** Releases the backend's resources; idempotent. */
    @Override
    void close();
}
