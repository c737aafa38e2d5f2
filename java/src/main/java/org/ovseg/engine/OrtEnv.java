package org.ovseg.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;

/**
 * The process's one {@link OrtEnvironment} (ONNX Runtime allows one per process). Created on
 * first use and never closed: sessions of any engine may outlive any one caller, and ORT tears
 * the environment down at exit.
 */
final class OrtEnv {
    private OrtEnv() {}

    private static final class Holder {
        static final OrtEnvironment ENV = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "ovseg");
    }

    /**
     * @return the environment
     * @throws EngineException when ONNX Runtime's native library cannot load
     */
    static OrtEnvironment get() {
        try {
            return Holder.ENV;
        } catch (LinkageError e) {
            throw new EngineException("ONNX Runtime failed to load: " + Engines.rootMessage(e), e);
        }
    }
}
