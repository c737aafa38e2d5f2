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

    private static final String INT8 = "int8";

    /**
     * Opens one ONNX file.
     *
     * @throws EngineException when the requested backend is unusable or the model cannot be opened
     */
    public static Engine open(Path onnx, EngineOptions options) {
        Objects.requireNonNull(onnx, "onnx");
        Objects.requireNonNull(options, "options");
        return open(Map.of(options.precisionPreference().get(0), onnx), options, choose(options.backend()), TensorRtEngine::open,
                OnnxRuntimeEngine::open);
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
        return open(variants, options, choose(options.backend()), TensorRtEngine::open, OnnxRuntimeEngine::open);
    }

    /**
     * Opens one network of a bundle with TensorRT optimisation profiles: bundle.json's
     * {@code networks.<role>.profiles} first, then those set in {@code options}, the rest derived
     * from the network's declared inputs and {@code hints} ({@link ShapeProfiles}). The profiles
     * matter to TensorRT only; ONNX Runtime ignores them. A network whose profiles cannot be
     * derived is one TensorRT cannot open: ONNX Runtime under AUTO (one warning), an error under TENSORRT.
     *
     * @throws EngineException as {@link #open(Map, EngineOptions)}
     */
    public static Engine open(org.ovseg.bundle.ModelBundle bundle, String role, EngineOptions options, ProfileHints hints) {
        Objects.requireNonNull(bundle, "bundle");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(hints, "hints");
        org.ovseg.bundle.BundleManifest.Network net = bundle.network(role);
        // Deriving the profiles is part of opening on TensorRT: a network without them falls back
        // (AUTO) or fails (TENSORRT) exactly like one TensorRT cannot build.
        TrtOpener trt = (file, o, label) -> TensorRtEngine.open(file, withProfiles(o, net, hints), label);
        return open(bundle.variantFiles(role), options, choose(options.backend()), trt, OnnxRuntimeEngine::open);
    }

    /** @return {@code options} with a profile for every input of {@code net} (bundle.json, then options, then derived) */
    static EngineOptions withProfiles(EngineOptions options, org.ovseg.bundle.BundleManifest.Network net, ProfileHints hints) {
        Map<String, ShapeProfile> given = new java.util.LinkedHashMap<>(options.profiles());
        given.putAll(net.profiles());
        EngineOptions.Builder b = options.toBuilder();
        try {
            ShapeProfiles.derive(net.inputs(), given, hints).forEach(b::profile);
        } catch (EngineException e) {
            throw new EngineException("network '" + net.role() + "': " + e.getMessage().replace("<role>", net.role()), e);
        }
        return b.build();
    }

    /** Opens a TensorRT engine: the ONNX file, the options, the precision label. */
    @FunctionalInterface
    interface TrtOpener {
        Engine open(Path onnx, EngineOptions options, String precision);
    }

    /** Opens an ONNX Runtime engine. */
    @FunctionalInterface
    interface OrtOpener {
        Engine open(Path onnx, EngineOptions options);
    }

    /**
     * The backend decision applied. Under AUTO a TensorRT failure (no profile, a parser or build
     * error, a missing library) is one WARNING line with the reason and an ONNX Runtime engine on
     * the fp32 variant; when TENSORRT was requested it propagates.
     */
    static Engine open(Map<String, Path> variants, EngineOptions options, Choice c, TrtOpener trt, OrtOpener ort) {
        String label = selectVariant(variants, c.backend(), options);
        Path file = variants.get(label);
        String variant = variants.size() > 1 ? " (" + label + ")" : ""; // a lone file's label is only a default
        LOG.log(Level.INFO, "ovseg engine for " + file.getFileName() + variant + ": " + c.backend() + " (" + c.reason() + ")");
        if (c.backend() != Backend.TENSORRT) return ort.open(file, options);
        try {
            return trt.open(file, options, label);
        } catch (RuntimeException | LinkageError e) {
            if (options.backend() == Backend.TENSORRT) throw e;
            String cpuLabel = selectVariant(variants, Backend.CPU, options);
            LOG.log(Level.WARNING, "TensorRT could not open " + file.getFileName() + " (" + oneLine(e) + "); using ONNX Runtime on the CPU with "
                    + variants.get(cpuLabel).getFileName());
            return ort.open(variants.get(cpuLabel), options);
        }
    }

    /** @return the exception's message (or root cause) on one line */
    static String oneLine(Throwable e) {
        String m = e instanceof EngineException && e.getMessage() != null ? e.getMessage() : rootMessage(e);
        return m.replaceAll("\\s*[\\r\\n]+\\s*", " ");
    }

    /**
     * @return the name the API and the JSON output give the backend that actually runs {@code engines}:
     *     "tensorrt", "onnxruntime-cpu", or, when they differ, e.g. "mixed (image: tensorrt, text: onnxruntime-cpu)"
     *     (roles in name order)
     */
    public static String backendName(Map<String, Engine> engines) {
        java.util.Set<Backend> kinds = java.util.EnumSet.noneOf(Backend.class);
        engines.values().forEach(e -> kinds.add(e.backend()));
        if (kinds.isEmpty()) return "none";
        if (kinds.size() == 1) return backendName(kinds.iterator().next());
        StringBuilder sb = new StringBuilder("mixed (");
        new java.util.TreeMap<>(engines).forEach((role, e) -> sb.append(sb.length() > 7 ? ", " : "").append(role).append(": ").append(backendName(e.backend())));
        return sb.append(')').toString();
    }

    /** @return "tensorrt" or "onnxruntime-cpu" */
    public static String backendName(Backend b) {
        return b == Backend.TENSORRT ? "tensorrt" : "onnxruntime-cpu";
    }

    /**
     * @return the variant label {@link #open(Map, EngineOptions)} would use on {@code backend}. On
     *     the CPU an "int8" variant is taken only when it heads the preference (asked for, e.g.
     *     {@code --precision int8}): it trades a little accuracy for speed, which is the caller's call.
     */
    public static String selectVariant(Map<String, Path> variants, Backend backend, EngineOptions options) {
        if (backend != Backend.TENSORRT && INT8.equals(options.precisionPreference().get(0)) && variants.containsKey(INT8)) return INT8;
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
