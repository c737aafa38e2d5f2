package org.ovseg.engine;

import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.ovseg.kernel.CudaDevice;
import org.ovseg.kernel.Device;

/**
 * Opens engines, choosing the backend. {@link Backend#AUTO} picks TensorRT when a CUDA device is
 * usable and the TensorRT libraries load, and ONNX Runtime on the CPU otherwise; the choice and
 * its reason are logged at INFO, so "why is this running on the CPU?" has an answer in the log.
 */
public final class Engines {
    private static final System.Logger LOG = org.ovseg.Logging.logger(Engines.class);

    private Engines() {}

    /** A backend decision and why it was made. */
    public record Choice(Backend backend, String reason) {}

    /**
     * Opens one ONNX file.
     *
     * @throws EngineException when the requested backend is unusable or the model cannot be opened
     */
    public static Engine open(Path onnx, EngineOptions options) {
        Objects.requireNonNull(onnx, "onnx");
        Objects.requireNonNull(options, "options");
        Choice c = choose(options.backend());
        LOG.log(Level.INFO, "ovseg engine for " + onnx.getFileName() + ": " + c.backend() + " (" + c.reason() + ")");
        if (c.backend() == Backend.TENSORRT) {
            return TensorRtEngine.open(onnx, options, options.precisionPreference().get(0));
        }
        return OnnxRuntimeEngine.open(onnx, options);
    }

    /**
     * Opens the best precision variant of a network. {@code variants} maps a precision label
     * ("fp32", "fp16", "bf16") to its ONNX file. TensorRT takes the first entry of
     * {@link EngineOptions#precisionPreference()} that exists; the CPU takes "fp32" when there is
     * one, since ONNX Runtime's CPU provider runs half-precision graphs through casts, slower and
     * less accurately, and otherwise follows the preference too.
     */
    public static Engine open(Map<String, Path> variants, EngineOptions options) {
        Objects.requireNonNull(options, "options");
        if (variants == null || variants.isEmpty()) throw new EngineException("no precision variants given");
        Choice c = choose(options.backend());
        String label = selectVariant(variants, c.backend(), options);
        Path file = variants.get(label);
        LOG.log(Level.INFO, "ovseg engine for " + file.getFileName() + " (" + label + "): " + c.backend() + " (" + c.reason() + ")");
        if (c.backend() == Backend.TENSORRT) return TensorRtEngine.open(file, options, label);
        return OnnxRuntimeEngine.open(file, options);
    }

    /** @return the variant label {@link #open(Map, EngineOptions)} would use on {@code backend} */
    public static String selectVariant(Map<String, Path> variants, Backend backend, EngineOptions options) {
        if (backend != Backend.TENSORRT && variants.containsKey("fp32")) return "fp32";
        for (String p : options.precisionPreference()) {
            if (variants.containsKey(p)) return p;
        }
        if (variants.containsKey("fp32")) return "fp32";
        return variants.keySet().iterator().next();
    }

    /**
     * Resolves a requested backend to a concrete one without opening anything.
     *
     * @throws EngineException when TENSORRT is requested but unusable (the reason is in the message)
     */
    public static Choice choose(Backend requested) {
        switch (requested) {
            case CPU:
                return new Choice(Backend.CPU, "requested");
            case TENSORRT: {
                Optional<String> why = tensorRtUnusable();
                if (why.isPresent()) throw new EngineException("TensorRT backend requested but unusable: " + why.get());
                return new Choice(Backend.TENSORRT, "requested");
            }
            default: {
                Optional<String> why = tensorRtUnusable();
                if (why.isPresent()) return new Choice(Backend.CPU, "auto: " + why.get());
                return new Choice(Backend.TENSORRT, "auto: CUDA device " + cudaDevice().map(CudaDevice::name).orElse("?")
                        + " and " + TensorRtEngine.availability().reason());
            }
        }
    }

    private static Optional<String> tensorRtUnusable() {
        Optional<CudaDevice> gpu = cudaDevice();
        if (gpu.isEmpty()) return Optional.of("no CUDA device (" + cudaReason() + ")");
        TensorRtEngine.Availability a = TensorRtEngine.availability();
        return a.available() ? Optional.empty() : Optional.of(a.reason());
    }

    static Optional<CudaDevice> cudaDevice() {
        try {
            return Device.cuda();
        } catch (LinkageError | RuntimeException e) {
            // The probe catches its own failures; this guards against a broken kernel jar.
            return Optional.empty();
        }
    }

    private static String cudaReason() {
        try {
            return Device.cudaUnavailableReason();
        } catch (LinkageError | RuntimeException e) {
            return rootMessage(e);
        }
    }

    /** @return the innermost cause as "Type: message" (what a LinkageError chain is really about) */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
