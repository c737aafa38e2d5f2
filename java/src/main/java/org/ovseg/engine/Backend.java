package org.ovseg.engine;

/** Which inference runtime executes a network. */
public enum Backend {
    /** TensorRT when a CUDA device and the TensorRT libraries are usable, ONNX Runtime on CPU otherwise. */
    AUTO,
    /** ONNX Runtime, CPU execution provider. */
    CPU,
    /** TensorRT on the first CUDA device; opening fails (with the reason) when it is not usable. */
    TENSORRT
}
