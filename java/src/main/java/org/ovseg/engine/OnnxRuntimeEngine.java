package org.ovseg.engine;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.ovseg.Logging;
import org.ovseg.OvsegException;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;

/**
 * A network run by ONNX Runtime's CPU execution provider.
 *
 * <p>Thread-safety: {@code OrtSession.run} is thread-safe, so one engine may be shared by any
 * number of threads running at once (each run has its own inputs and outputs). {@link #close()}
 * waits for runs in flight and makes later calls throw {@link IllegalStateException}.
 *
 * <p>Inputs are handed to ORT without a copy (direct native-order buffers). Outputs are written
 * straight into the caller's tensors by {@link #run(Map, Map)}; {@link #run(Map)} does the same
 * when every output shape is static and otherwise copies each ORT-allocated output once.
 */
public final class OnnxRuntimeEngine implements Engine {
    private static final System.Logger LOG = Logging.logger(OnnxRuntimeEngine.class);

    private final Path model;
    private final OrtEnvironment env;
    private final OrtSession.SessionOptions sessionOptions;
    private final OrtSession session;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final Map<String, TensorSpec> inputByName = new LinkedHashMap<>();
    private final Map<String, TensorSpec> outputByName = new LinkedHashMap<>();
    private final boolean allOutputsStatic;
    // Runs share the read side (ORT runs concurrently); close takes the write side so it never
    // frees the session under a running thread.
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;

    private OnnxRuntimeEngine(Path model, OrtEnvironment env, OrtSession.SessionOptions so, OrtSession session,
            List<TensorSpec> inputs, List<TensorSpec> outputs) {
        this.model = model;
        this.env = env;
        this.sessionOptions = so;
        this.session = session;
        this.inputs = Collections.unmodifiableList(inputs);
        this.outputs = Collections.unmodifiableList(outputs);
        boolean stat = true;
        for (TensorSpec s : inputs) inputByName.put(s.name(), s);
        for (TensorSpec s : outputs) {
            outputByName.put(s.name(), s);
            stat &= s.isStatic();
        }
        this.allOutputsStatic = stat;
    }

    /**
     * Opens a session on an ONNX file.
     *
     * @throws EngineException when the file is missing, ORT rejects the model, or an input or
     *     output has a type ovseg does not carry
     */
    public static OnnxRuntimeEngine open(Path onnx, EngineOptions options) {
        if (!Files.isRegularFile(onnx)) throw new EngineException(onnx + ": ONNX file not found");
        OrtEnvironment env = OrtEnv.get();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        OrtSession session = null;
        try {
            if (options.intraOpThreads() > 0) so.setIntraOpNumThreads(options.intraOpThreads());
            // Parallelism comes from intra-op threads and from callers sharing the engine;
            // inter-op threads would only oversubscribe the cores.
            so.setInterOpNumThreads(1);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            if (!options.cpuMemoryArena()) so.setCPUArenaAllocator(false);
            so.setOptimizationLevel(optLevel(options.graphOptimization()));
            if (options.optimizedModelPath().isPresent()) {
                Path opt = options.optimizedModelPath().get();
                so.setOptimizedModelFilePath(opt.toString());
                if (org.ovseg.engine.onnx.OnnxModelInfo.read(onnx).hasExternalData()) {
                    // A model kept in external data is usually past protobuf's 2 GiB: ORT can only write its
                    // optimised copy with the weights beside it too (<optimised>.data, relative to that file).
                    so.addConfigEntry("session.optimized_model_external_initializers_file_name", opt.getFileName() + ".data");
                    so.addConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                }
            }
            long t0 = System.nanoTime();
            session = env.createSession(onnx.toString(), so);
            List<TensorSpec> in = specs(onnx, "input", session.getInputInfo());
            List<TensorSpec> out = specs(onnx, "output", session.getOutputInfo());
            LOG.log(Level.DEBUG, () -> String.format("ORT session on %s in %.0f ms: inputs %s, outputs %s",
                    onnx.getFileName(), (System.nanoTime() - t0) / 1e6, in, out));
            return new OnnxRuntimeEngine(onnx, env, so, session, in, out);
        } catch (OrtException e) {
            closeQuietly(session, so);
            throw new EngineException(onnx + ": ONNX Runtime cannot open the model: " + oneLine(e.getMessage()), e);
        } catch (RuntimeException e) {
            closeQuietly(session, so);
            throw e;
        }
    }

    private static void closeQuietly(OrtSession session, OrtSession.SessionOptions so) {
        try {
            if (session != null) session.close();
        } catch (OrtException | RuntimeException ignored) {
            // Already failing; the first error is the one to report.
        }
        so.close();
    }

    private static OrtSession.SessionOptions.OptLevel optLevel(EngineOptions.GraphOptimization g) {
        switch (g) {
            case DISABLED: return OrtSession.SessionOptions.OptLevel.NO_OPT;
            case BASIC: return OrtSession.SessionOptions.OptLevel.BASIC_OPT;
            case EXTENDED: return OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
            default: return OrtSession.SessionOptions.OptLevel.ALL_OPT;
        }
    }

    private static List<TensorSpec> specs(Path onnx, String kind, Map<String, NodeInfo> infos) {
        List<TensorSpec> list = new ArrayList<>();
        for (Map.Entry<String, NodeInfo> e : infos.entrySet()) {
            if (!(e.getValue().getInfo() instanceof TensorInfo ti)) {
                throw new EngineException(onnx + ": " + kind + " '" + e.getKey() + "' is not a tensor (" + e.getValue().getInfo() + ")");
            }
            Optional<ElementType> type = elementType(ti.onnxType);
            if (type.isEmpty()) {
                throw new EngineException(onnx + ": " + kind + " '" + e.getKey() + "' has element type "
                        + ti.onnxType.name().replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "") + ", which ovseg engines do not carry");
            }
            long[] shape = ti.getShape();
            String[] names = ti.getDimensionNames();
            List<String> axes = new ArrayList<>(shape.length);
            for (int i = 0; i < shape.length; i++) {
                String n = names != null && i < names.length ? names[i] : null;
                axes.add(n == null || n.isEmpty() ? null : n);
                if (shape[i] < 0) shape[i] = -1;
            }
            list.add(new TensorSpec(e.getKey(), type.get(), shape, axes));
        }
        return list;
    }

    // By name: the Java enum's numeric values are ORT-Java's own, not TensorProto.DataType codes.
    private static Optional<ElementType> elementType(TensorInfo.OnnxTensorType t) {
        switch (t.name().replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "")) {
            case "FLOAT": return Optional.of(ElementType.FLOAT32);
            case "FLOAT16": return Optional.of(ElementType.FLOAT16);
            case "BFLOAT16": return Optional.of(ElementType.BFLOAT16);
            case "INT32": return Optional.of(ElementType.INT32);
            case "INT64": return Optional.of(ElementType.INT64);
            default: return Optional.empty();
        }
    }

    @Override
    public Backend backend() {
        return Backend.CPU;
    }

    @Override
    public List<TensorSpec> inputs() {
        return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
        return outputs;
    }

    /** @return the ONNX file this engine was opened from */
    public Path model() {
        return model;
    }

    @Override
    public Map<String, HostTensor> run(Map<String, HostTensor> in) {
        lock.readLock().lock();
        try {
            requireOpen();
            validateInputs(in);
            if (allOutputsStatic) {
                Map<String, HostTensor> out = new LinkedHashMap<>();
                try {
                    for (TensorSpec s : outputs) out.put(s.name(), HostTensor.zeros(s.type(), s.shape()));
                    runPinned(in, out);
                    return out;
                } catch (RuntimeException e) {
                    out.values().forEach(HostTensor::close);
                    throw e;
                }
            }
            return runCopying(in);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void run(Map<String, HostTensor> in, Map<String, HostTensor> out) {
        lock.readLock().lock();
        try {
            requireOpen();
            validateInputs(in);
            validateOutputs(out);
            runPinned(in, out);
        } finally {
            lock.readLock().unlock();
        }
    }

    private Map<String, HostTensor> runCopying(Map<String, HostTensor> in) {
        Map<String, OnnxTensor> ortIn = wrapAll(in);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        try (OrtSession.Result result = session.run(ortIn)) {
            for (TensorSpec s : outputs) {
                OnnxValue v = result.get(s.name()).orElseThrow(
                        () -> new EngineException(model + ": ONNX Runtime returned no output '" + s.name() + "'"));
                OnnxTensor t = (OnnxTensor) v;
                HostTensor h = HostTensor.zeros(s.type(), t.getInfo().getShape());
                out.put(s.name(), h);
                // ORT owns this output's memory and Java cannot borrow it, so this is the one copy.
                h.byteBuffer().put(t.getByteBuffer());
            }
            return out;
        } catch (OrtException e) {
            out.values().forEach(HostTensor::close);
            throw new EngineException(model.getFileName() + ": run failed: " + oneLine(e.getMessage()), e);
        } catch (RuntimeException e) {
            out.values().forEach(HostTensor::close);
            throw e;
        } finally {
            ortIn.values().forEach(OnnxTensor::close);
        }
    }

    private void runPinned(Map<String, HostTensor> in, Map<String, HostTensor> out) {
        Map<String, OnnxTensor> ortIn = wrapAll(in);
        Map<String, OnnxTensor> ortOut = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, HostTensor> e : out.entrySet()) ortOut.put(e.getKey(), wrap(e.getValue()));
            // The outputs are already in the caller's buffers; the result only holds references.
            session.run(ortIn, ortOut).close();
        } catch (OrtException e) {
            throw new EngineException(model.getFileName() + ": run failed: " + oneLine(e.getMessage()), e);
        } finally {
            ortIn.values().forEach(OnnxTensor::close);
            ortOut.values().forEach(OnnxTensor::close);
        }
    }

    private Map<String, OnnxTensor> wrapAll(Map<String, HostTensor> in) {
        Map<String, OnnxTensor> m = new LinkedHashMap<>();
        try {
            for (TensorSpec s : inputs) m.put(s.name(), wrap(in.get(s.name())));
            return m;
        } catch (OrtException e) {
            m.values().forEach(OnnxTensor::close);
            throw new EngineException(model.getFileName() + ": cannot wrap input: " + oneLine(e.getMessage()), e);
        }
    }

    /** Wraps without copying: ORT aliases a direct native-order buffer. */
    private OnnxTensor wrap(HostTensor t) throws OrtException {
        long[] shape = t.shape();
        switch (t.type()) {
            case FLOAT32: return OnnxTensor.createTensor(env, t.floatBuffer(), shape);
            case INT32: return OnnxTensor.createTensor(env, t.intBuffer(), shape);
            case INT64: return OnnxTensor.createTensor(env, t.longBuffer(), shape);
            case FLOAT16: return OnnxTensor.createTensor(env, t.shortBuffer(), shape, OnnxJavaType.FLOAT16);
            case BFLOAT16: return OnnxTensor.createTensor(env, t.shortBuffer(), shape, OnnxJavaType.BFLOAT16);
            default: throw new EngineException("unsupported element type " + t.type());
        }
    }

    private void validateInputs(Map<String, HostTensor> in) {
        if (in == null) throw new EngineException(model.getFileName() + ": inputs map is null");
        for (String name : in.keySet()) {
            if (!inputByName.containsKey(name)) {
                throw new EngineException(model.getFileName() + ": unknown input '" + name + "' (model inputs: "
                        + String.join(", ", inputByName.keySet()) + ")");
            }
        }
        for (TensorSpec s : inputs) {
            HostTensor t = in.get(s.name());
            if (t == null) throw new EngineException(model.getFileName() + ": missing input '" + s.name() + "' (" + s.describe() + ")");
            checkTensor("input", s, t);
        }
    }

    private void validateOutputs(Map<String, HostTensor> out) {
        if (out == null || out.isEmpty()) throw new EngineException(model.getFileName() + ": no output tensors given");
        for (Map.Entry<String, HostTensor> e : out.entrySet()) {
            TensorSpec s = outputByName.get(e.getKey());
            if (s == null) {
                throw new EngineException(model.getFileName() + ": unknown output '" + e.getKey() + "' (model outputs: "
                        + String.join(", ", outputByName.keySet()) + ")");
            }
            checkTensor("output", s, e.getValue());
        }
    }

    private void checkTensor(String kind, TensorSpec s, HostTensor t) {
        if (t == null) throw new EngineException(model.getFileName() + ": " + kind + " '" + s.name() + "' is null");
        if (t.isClosed()) throw new EngineException(model.getFileName() + ": " + kind + " '" + s.name() + "' is a closed tensor");
        if (!s.accepts(t)) {
            throw new EngineException(kind + " '" + s.name() + "' expects " + s.describe() + ", got " + t.describe());
        }
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("OnnxRuntimeEngine for " + model.getFileName() + " is closed");
    }

    static String oneLine(String s) {
        return OvsegException.oneLine(s);
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            try {
                session.close();
            } catch (OrtException e) {
                LOG.log(Level.WARNING, "closing ORT session for " + model + ": " + oneLine(e.getMessage()));
            } finally {
                sessionOptions.close();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "OnnxRuntimeEngine[" + model.getFileName() + ", inputs=" + inputs + ", outputs=" + outputs
                + (closed ? ", closed" : "") + "]";
    }
}
