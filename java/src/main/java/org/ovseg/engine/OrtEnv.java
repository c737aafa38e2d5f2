package org.ovseg.engine;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;
import java.util.logging.Level;
import org.ovseg.Logging;

/**
 * The process's one {@link OrtEnvironment} (ONNX Runtime allows one per process). Created on
 * first use and never closed: sessions of any engine may outlive any one caller, and ORT tears
 * the environment down at exit.
 *
 * <p>It is created on a big-stack thread ({@link BigStack}), whatever thread asks first: with a
 * long process command line ORT's environment creation overflows a default 1 MiB stack. Session
 * creation and runs were checked not to recurse that way (5,000 and 20,000 arguments, 1 MiB
 * main thread), so they stay on the caller's thread.
 */
final class OrtEnv {
    private OrtEnv() {}

    private static OrtEnvironment env;
    private static EngineException failure;

    /**
     * @return the environment
     * @throws EngineException when ONNX Runtime's native library cannot load (every later call
     *     throws the same failure again)
     */
    static synchronized OrtEnvironment get() {
        if (env != null) return env;
        if (failure != null) throw new EngineException(failure.getMessage(), failure.getCause());
        try {
            OrtLoggingLevel level = nativeLogLevel(Logging.effectiveLevel());
            env = BigStack.call("ovseg-ort-environment", () -> OrtEnvironment.getEnvironment(level, "ovseg"));
            return env;
        } catch (LinkageError | RuntimeException e) {
            failure = new EngineException("ONNX Runtime failed to load: " + OnnxRuntimeEngine.oneLine(Engines.rootMessage(e)), e);
            throw failure;
        }
    }

    /**
     * ORT's own log goes straight to stderr (with colour codes) and its errors come back as
     * exceptions anyway, so it stays silent unless ovseg's log is asked for: its warnings from
     * INFO, its info from FINE (debug), everything below that.
     */
    static OrtLoggingLevel nativeLogLevel(Level ovseg) {
        int v = ovseg.intValue();
        if (v > Level.INFO.intValue()) return OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        if (v > Level.FINE.intValue()) return OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING;
        if (v > Level.FINER.intValue()) return OrtLoggingLevel.ORT_LOGGING_LEVEL_INFO;
        return OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE;
    }
}
