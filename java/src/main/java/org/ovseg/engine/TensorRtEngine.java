package org.ovseg.engine;

import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaGraphDestroy;
import static org.bytedeco.cuda.global.cudart.cudaGraphExecDestroy;
import static org.bytedeco.cuda.global.cudart.cudaGraphInstantiate;
import static org.bytedeco.cuda.global.cudart.cudaGraphLaunch;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamBeginCapture;
import static org.bytedeco.cuda.global.cudart.cudaStreamCaptureModeThreadLocal;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreate;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamEndCapture;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.tensorrt.global.nvinfer;
import org.bytedeco.tensorrt.global.nvonnxparser;
import org.bytedeco.tensorrt.nvinfer.Dims64;
import org.bytedeco.tensorrt.nvinfer.IBuilder;
import org.bytedeco.tensorrt.nvinfer.IBuilderConfig;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;
import org.bytedeco.tensorrt.nvinfer.IExecutionContext;
import org.bytedeco.tensorrt.nvinfer.IHostMemory;
import org.bytedeco.tensorrt.nvinfer.ILogger;
import org.bytedeco.tensorrt.nvinfer.INetworkDefinition;
import org.bytedeco.tensorrt.nvinfer.IOptimizationProfile;
import org.bytedeco.tensorrt.nvinfer.IRuntime;
import org.bytedeco.tensorrt.nvinfer.ITensor;
import org.bytedeco.tensorrt.nvinfer.ITimingCache;
import org.bytedeco.tensorrt.nvonnxparser.IParser;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.kernel.CudaDevice;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;
import org.ovseg.tensor.Shapes;

/**
 * A network run by TensorRT on the first CUDA device, built from ONNX with TensorRT's ONNX
 * parser. TensorRT 11 is strongly typed: the precision is the ONNX file's own, so an fp16 engine
 * comes from an fp16 export, not from a builder flag.
 *
 * <p>Building a plan takes seconds to minutes, so serialized plans are cached in
 * {@link EngineOptions#planCacheDir()} under the SHA-256 of (ONNX SHA-256 with its external data's, GPU name and SM,
 * TensorRT version, precision label, optimisation profiles, workspace, builder level): a plan is
 * tied to all of these.
 *
 * <p>Thread-safety: an engine may be shared by many threads. Runs are serialised on its one
 * execution context and CUDA stream (a TensorRT execution context is not re-entrant); open one
 * engine per worker for parallel GPU work.
 *
 * <p>Resources: JavaCPP's TensorRT 11 preset attaches no deallocator to the objects the factory
 * functions return and TensorRT 10+ removed {@code destroy()}, so they are deleted through
 * {@link CpuKernels#deleteTensorRtObject} (native/src/trt_delete.cpp: the virtual deleting
 * destructor, what C++'s {@code delete} calls). {@link #close()} deletes the execution context,
 * engine and runtime in that order, after the device buffers, CUDA graph and stream; a plan build
 * deletes its serialized plan, timing cache, builder config, network and builder. The ONNX
 * parser is not deleted (its destructor is not its first virtual function, so the shim cannot
 * reach it): a few kilobytes per plan build, none per cached open.
 *
 * <p>The cuda preset needs {@code libcuda.so.1}; {@link #availability()} probes the libraries
 * once and turns a {@link LinkageError} into a reason, so no class here fails to initialise on a
 * machine without a GPU. Only cudart functions present in CUDA 13.0 are called (the 13.3
 * preset's glue also names newer ones, and calling those kills the JVM).
 */
public final class TensorRtEngine implements Engine {
    private static final System.Logger LOG = org.ovseg.Logging.logger(TensorRtEngine.class);
    private static final String PLAN_FORMAT = "ovseg-trt-plan/1";

    /**
     * Whether TensorRT can be used at all in this process.
     *
     * @param available true when the libraries loaded
     * @param reason the TensorRT version when available, otherwise one line saying why not
     */
    public record Availability(boolean available, String reason) {}

    private static final class Probe {
        static final Availability RESULT = probe();
    }

    /** @return whether the cudart, nvinfer and nvonnxparser libraries load (probed once, never throws) */
    public static Availability availability() {
        return Probe.RESULT;
    }

    private static Availability probe() {
        try {
            Loader.load(org.bytedeco.cuda.global.cudart.class);
            Loader.load(nvinfer.class);
            Loader.load(nvonnxparser.class);
            int v = nvinfer.getInferLibVersion();
            return new Availability(true, "TensorRT " + versionString(v));
        } catch (LinkageError | RuntimeException e) {
            return new Availability(false, "TensorRT libraries not found: " + Engines.rootMessage(e));
        }
    }

    private static String versionString(int v) {
        // getInferLibVersion() is major*10000 + minor*100 + patch.
        return (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100);
    }

    /** Routes TensorRT's messages to System.Logger; one instance, kept for the process lifetime. */
    private static final class TrtLogger extends ILogger {
        private static final System.Logger TRT_LOG = System.getLogger("org.ovseg.engine.TensorRT");

        @Override
        public void log(ILogger.Severity severity, String msg) {
            Level level;
            if (severity == null) {
                level = Level.INFO;
            } else {
                switch (severity) {
                    case kINTERNAL_ERROR:
                    case kERROR: level = Level.ERROR; break;
                    case kWARNING: level = Level.WARNING; break;
                    case kINFO: level = Level.DEBUG; break;
                    default: level = Level.TRACE; break;
                }
            }
            TRT_LOG.log(level, msg);
        }
    }

    private static final class Shared {
        // Strongly referenced for the process lifetime: TensorRT keeps the raw pointer and calls
        // it from its own threads long after any one engine is gone.
        static final TrtLogger LOGGER = new TrtLogger();
    }

    private static final class DeviceMemory {
        Pointer ptr;
        long bytes;
    }

    private final Path model;
    private final boolean useGraphs;
    private final IRuntime runtime;
    private final ICudaEngine engine;
    private final IExecutionContext context;
    private final CUstream_st stream;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final Map<String, TensorSpec> inputByName = new LinkedHashMap<>();
    private final Map<String, TensorSpec> outputByName = new LinkedHashMap<>();
    private final Map<String, DeviceMemory> deviceBuffers = new LinkedHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private CUgraphExec_st graphExec;
    private String graphShapeKey;
    private boolean graphsFailed;
    private boolean closed;

    private TensorRtEngine(Path model, boolean useGraphs, IRuntime runtime, ICudaEngine engine,
            IExecutionContext context, CUstream_st stream, List<TensorSpec> inputs, List<TensorSpec> outputs) {
        this.model = model;
        this.useGraphs = useGraphs;
        this.runtime = runtime;
        this.engine = engine;
        this.context = context;
        this.stream = stream;
        this.inputs = Collections.unmodifiableList(inputs);
        this.outputs = Collections.unmodifiableList(outputs);
        for (TensorSpec s : inputs) inputByName.put(s.name(), s);
        for (TensorSpec s : outputs) outputByName.put(s.name(), s);
    }

    /**
     * Builds (or loads from the plan cache) and opens an engine.
     *
     * @param precision precision label of this ONNX file ("fp32", "fp16", ...), part of the cache key
     * @throws EngineException when TensorRT or a GPU is unusable, parsing or building fails, or a
     *     dynamic input has no optimisation profile
     */
    public static TensorRtEngine open(Path onnx, EngineOptions options, String precision) {
        Availability a = availability();
        if (!a.available()) throw new EngineException("TensorRT unusable: " + a.reason());
        CudaDevice gpu = Engines.cudaDevice().orElseThrow(
                () -> new EngineException("TensorRT needs a CUDA device: " + org.ovseg.kernel.Device.cudaUnavailableReason()));
        if (!Files.isRegularFile(onnx)) throw new EngineException(onnx + ": ONNX file not found");
        checkCuda("cudaSetDevice", cudaSetDevice(gpu.index()));

        byte[] plan = loadOrBuildPlan(onnx, options, precision, gpu);
        IRuntime runtime = nvinfer.createInferRuntime(Shared.LOGGER);
        if (runtime == null || runtime.isNull()) throw new EngineException("TensorRT: createInferRuntime failed");
        ICudaEngine engine = null;
        IExecutionContext context = null;
        try {
            try (BytePointer planPtr = new BytePointer(plan)) {
                engine = runtime.deserializeCudaEngine(planPtr, plan.length);
            }
            if (engine == null || engine.isNull()) {
                throw new EngineException(onnx.getFileName() + ": TensorRT could not deserialize the plan (see the TensorRT log)");
            }
            context = engine.createExecutionContext();
            if (context == null || context.isNull()) throw new EngineException(onnx.getFileName() + ": TensorRT could not create an execution context");
            return wrap(onnx, options, gpu, runtime, engine, context);
        } catch (RuntimeException | LinkageError e) {
            // A failed open must not leak: under AUTO the caller falls back and may retry many times.
            CpuKernels.deleteTensorRtObject(context);
            CpuKernels.deleteTensorRtObject(engine);
            CpuKernels.deleteTensorRtObject(runtime);
            throw e;
        }
    }

    private static TensorRtEngine wrap(Path onnx, EngineOptions options, CudaDevice gpu, IRuntime runtime, ICudaEngine engine,
            IExecutionContext context) {
        List<TensorSpec> in = new ArrayList<>();
        List<TensorSpec> out = new ArrayList<>();
        for (int i = 0; i < engine.getNbIOTensors(); i++) {
            String name = engine.getIOTensorName(i);
            TensorSpec spec = new TensorSpec(name, fromTrt(onnx, name, engine.getTensorDataType(name)),
                    toLongs(engine.getTensorShape(name)), null);
            if (engine.getTensorIOMode(name) == nvinfer.TensorIOMode.kINPUT) in.add(spec);
            else out.add(spec);
        }
        CUstream_st stream = new CUstream_st();
        checkCuda("cudaStreamCreate", cudaStreamCreate(stream));
        LOG.log(Level.INFO, "TensorRT engine " + onnx.getFileName() + " on " + gpu.name() + ": inputs " + in + ", outputs " + out);
        return new TensorRtEngine(onnx, options.cudaGraphs(), runtime, engine, context, stream, in, out);
    }

    /** @return the plan-cache key of this configuration (hex SHA-256) */
    static String planKey(String onnxSha, CudaDevice gpu, String trtVersion, String precision, EngineOptions o) {
        StringBuilder profiles = new StringBuilder();
        for (Map.Entry<String, ShapeProfile> e : new TreeMap<>(o.profiles()).entrySet()) {
            profiles.append(e.getKey()).append('=').append(e.getValue()).append(';');
        }
        return Digests.sha256(String.join("\n", PLAN_FORMAT, onnxSha, gpu.name(), "sm" + gpu.smMajor() + "." + gpu.smMinor(),
                "trt " + trtVersion, "precision " + precision, "profiles " + profiles,
                "workspace " + o.workspaceBytes(), "level " + o.builderOptimizationLevel()));
    }

    private static byte[] loadOrBuildPlan(Path onnx, EngineOptions o, String precision, CudaDevice gpu) {
        Path planFile = null;
        if (o.planCacheDir().isPresent()) {
            String onnxSha;
            try {
                onnxSha = Digests.modelSha256(onnx); // external data included: new weights, new plan
            } catch (IOException e) {
                throw new EngineException(onnx + ": cannot read: " + e.getMessage(), e);
            }
            String key = planKey(onnxSha, gpu, versionString(nvinfer.getInferLibVersion()), precision, o);
            planFile = o.planCacheDir().get().resolve(key + ".plan");
            if (Files.isRegularFile(planFile)) {
                try {
                    LOG.log(Level.DEBUG, "TensorRT plan cache hit: " + planFile);
                    return Files.readAllBytes(planFile);
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "unreadable TensorRT plan " + planFile + " (" + e.getMessage() + "); rebuilding");
                }
            }
        }
        long t0 = System.nanoTime();
        byte[] plan = buildPlan(onnx, o);
        LOG.log(Level.INFO, String.format("TensorRT built %s (%s) in %.1f s", onnx.getFileName(), precision, (System.nanoTime() - t0) / 1e9));
        if (planFile != null) writeAtomically(planFile, plan, "plan");
        return plan;
    }

    private static byte[] buildPlan(Path onnx, EngineOptions o) {
        IBuilder builder = nvinfer.createInferBuilder(Shared.LOGGER);
        if (builder == null || builder.isNull()) throw new EngineException("TensorRT: createInferBuilder failed");
        List<Pointer> owned = new ArrayList<>(); // deleted in reverse creation order, builder last
        owned.add(builder);
        try {
            return buildPlan(onnx, o, builder, owned);
        } finally {
            for (int i = owned.size() - 1; i >= 0; i--) CpuKernels.deleteTensorRtObject(owned.get(i));
        }
    }

    private static byte[] buildPlan(Path onnx, EngineOptions o, IBuilder builder, List<Pointer> owned) {
        // Flags 0: explicit batch is the only mode left, and strong typing is TensorRT 11's default.
        INetworkDefinition network = builder.createNetworkV2(0);
        owned.add(network);
        IParser parser = nvonnxparser.createParser(network, Shared.LOGGER);
        // parseFromFile, not parse(bytes): it resolves external-data weight files beside the model.
        if (!parser.parseFromFile(onnx.toAbsolutePath().toString(), ILogger.Severity.kWARNING.value)) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < parser.getNbErrors(); i++) {
                if (i > 0) sb.append("; ");
                var err = parser.getError(i);
                sb.append(err.desc());
                if (err.nodeName() != null && !err.nodeName().isEmpty()) sb.append(" (node ").append(err.nodeName()).append(')');
            }
            throw new EngineException(onnx.getFileName() + ": TensorRT's ONNX parser failed: " + sb);
        }
        IBuilderConfig config = builder.createBuilderConfig();
        owned.add(config);
        config.setMemoryPoolLimit(nvinfer.MemoryPoolType.kWORKSPACE, o.workspaceBytes());
        if (o.builderOptimizationLevel() >= 0) config.setBuilderOptimizationLevel(o.builderOptimizationLevel());

        IOptimizationProfile profile = null;
        for (int i = 0; i < network.getNbInputs(); i++) {
            ITensor t = network.getInput(i);
            String name = t.getName();
            long[] dims = toLongs(t.getDimensions());
            if (Shapes.isStatic(dims)) continue;
            ShapeProfile p = o.profiles().get(name);
            if (p == null) {
                throw new EngineException(onnx.getFileName() + ": input '" + name + "' has dynamic shape " + Shapes.toString(dims)
                        + "; TensorRT needs EngineOptions.profile(\"" + name + "\", ...)");
            }
            if (p.min().length != dims.length || !Shapes.fits(dims, p.min()) || !Shapes.fits(dims, p.max())) {
                throw new EngineException(onnx.getFileName() + ": profile of input '" + name + "' (" + p + ") does not fit its shape "
                        + Shapes.toString(dims));
            }
            if (profile == null) profile = builder.createOptimizationProfile();
            profile.setDimensions(name, nvinfer.OptProfileSelector.kMIN, dims64(p.min()));
            profile.setDimensions(name, nvinfer.OptProfileSelector.kOPT, dims64(p.opt()));
            profile.setDimensions(name, nvinfer.OptProfileSelector.kMAX, dims64(p.max()));
        }
        if (profile != null && config.addOptimizationProfile(profile) < 0) {
            throw new EngineException(onnx.getFileName() + ": TensorRT rejected the optimisation profile " + o.profiles());
        }

        byte[] oldCache = new byte[0];
        if (o.timingCachePath().isPresent() && Files.isRegularFile(o.timingCachePath().get())) {
            try {
                oldCache = Files.readAllBytes(o.timingCachePath().get());
            } catch (IOException e) {
                LOG.log(Level.WARNING, "unreadable TensorRT timing cache " + o.timingCachePath().get() + ": " + e.getMessage());
            }
        }
        BytePointer cacheBytes = oldCache.length == 0 ? null : new BytePointer(oldCache);
        ITimingCache timingCache = config.createTimingCache(cacheBytes, oldCache.length);
        owned.add(timingCache);
        if (timingCache != null && !timingCache.isNull()) config.setTimingCache(timingCache, false);

        IHostMemory serialized = builder.buildSerializedNetwork(network, config);
        owned.add(serialized);
        if (serialized == null || serialized.isNull() || serialized.size() == 0) {
            throw new EngineException(onnx.getFileName() + ": TensorRT could not build an engine (see the TensorRT log)");
        }
        byte[] plan = copyOut(serialized);
        if (o.timingCachePath().isPresent() && timingCache != null && !timingCache.isNull()) {
            IHostMemory tc = timingCache.serialize();
            owned.add(tc);
            if (tc != null && !tc.isNull()) writeAtomically(o.timingCachePath().get(), copyOut(tc), "timing cache");
        }
        if (cacheBytes != null) cacheBytes.close();
        return plan;
    }

    private static byte[] copyOut(IHostMemory mem) {
        long size = mem.size();
        if (size > Integer.MAX_VALUE - 8) throw new EngineException("TensorRT plan of " + size + " bytes exceeds 2 GiB");
        byte[] out = new byte[(int) size];
        new BytePointer(mem.data()).capacity(size).get(out);
        return out;
    }

    private static void writeAtomically(Path file, byte[] bytes, String what) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            Files.write(tmp, bytes);
            // Another process may build the same plan at once; the rename makes either copy whole.
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "could not write TensorRT " + what + " " + file + ": " + e.getMessage());
        }
    }

    private static Dims64 dims64(long[] shape) {
        Dims64 d = new Dims64();
        d.nbDims(shape.length);
        for (int i = 0; i < shape.length; i++) d.d(i, shape[i]);
        return d;
    }

    private static long[] toLongs(Dims64 d) {
        int n = Math.max(0, d.nbDims());
        long[] s = new long[n];
        for (int i = 0; i < n; i++) s[i] = d.d(i) < 0 ? -1 : d.d(i);
        return s;
    }

    private static ElementType fromTrt(Path onnx, String name, nvinfer.DataType t) {
        switch (t) {
            case kFLOAT: return ElementType.FLOAT32;
            case kHALF: return ElementType.FLOAT16;
            case kBF16: return ElementType.BFLOAT16;
            case kINT32: return ElementType.INT32;
            case kINT64: return ElementType.INT64;
            default: throw new EngineException(onnx.getFileName() + ": tensor '" + name + "' has TensorRT type " + t + ", which ovseg engines do not carry");
        }
    }

    private static void checkCuda(String what, int status) {
        if (status != 0) {
            String msg;
            try (BytePointer p = cudaGetErrorString(status)) {
                msg = p == null ? "?" : p.getString();
            }
            throw new EngineException(what + " failed: " + msg + " (cudaError " + status + ")");
        }
    }

    @Override
    public Backend backend() {
        return Backend.TENSORRT;
    }

    @Override
    public List<TensorSpec> inputs() {
        return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
        return outputs;
    }

    @Override
    public Map<String, HostTensor> run(Map<String, HostTensor> in) {
        lock.lock();
        try {
            requireOpen();
            validateInputs(in);
            bindInputs(in);
            Map<String, HostTensor> out = new LinkedHashMap<>();
            try {
                for (TensorSpec s : outputs) out.put(s.name(), HostTensor.zeros(s.type(), resolvedShape(s.name())));
                execute(in, out);
                return out;
            } catch (RuntimeException e) {
                out.values().forEach(HostTensor::close);
                throw e;
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void run(Map<String, HostTensor> in, Map<String, HostTensor> out) {
        lock.lock();
        try {
            requireOpen();
            validateInputs(in);
            if (out == null || out.isEmpty()) throw new EngineException(model.getFileName() + ": no output tensors given");
            bindInputs(in);
            for (Map.Entry<String, HostTensor> e : out.entrySet()) {
                TensorSpec s = outputByName.get(e.getKey());
                if (s == null) throw new EngineException(model.getFileName() + ": unknown output '" + e.getKey() + "'");
                HostTensor t = e.getValue();
                long[] actual = resolvedShape(s.name());
                if (t == null || t.isClosed() || t.type() != s.type() || !Arrays.equals(t.shape(), actual)) {
                    throw new EngineException("output '" + s.name() + "' is " + s.type() + " " + Shapes.toString(actual)
                            + " for these inputs, got " + (t == null ? "null" : t.describe()));
                }
            }
            execute(in, out);
        } finally {
            lock.unlock();
        }
    }

    private void bindInputs(Map<String, HostTensor> in) {
        for (TensorSpec s : inputs) {
            HostTensor t = in.get(s.name());
            if (!context.setInputShape(s.name(), dims64(t.shape()))) {
                throw new EngineException("input '" + s.name() + "' shape " + Shapes.toString(t.shape())
                        + " is outside the engine's optimisation profile");
            }
        }
    }

    private long[] resolvedShape(String output) {
        long[] s = toLongs(context.getTensorShape(output));
        if (!Shapes.isStatic(s)) {
            throw new EngineException(model.getFileName() + ": output '" + output + "' has a data-dependent shape "
                    + Shapes.toString(s) + ", which this engine does not support");
        }
        return s;
    }

    private void execute(Map<String, HostTensor> in, Map<String, HostTensor> out) {
        boolean moved = false;
        StringBuilder shapeKey = new StringBuilder();
        List<BytePointer> hostViews = new ArrayList<>();
        try {
            for (TensorSpec s : inputs) {
                HostTensor t = in.get(s.name());
                shapeKey.append(Shapes.toString(t.shape()));
                DeviceMemory d = deviceBuffer(s.name(), t.byteSize());
                moved |= bind(s.name(), d);
                BytePointer host = new BytePointer(t.byteBuffer());
                hostViews.add(host);
                checkCuda("cudaMemcpyAsync H2D", cudaMemcpyAsync(d.ptr, host, t.byteSize(), cudaMemcpyHostToDevice, stream));
            }
            // Every output needs an address, wanted or not; unwanted ones land in scratch buffers.
            for (TensorSpec s : outputs) {
                long bytes = Shapes.elementCount(resolvedShape(s.name())) * s.type().bytes();
                moved |= bind(s.name(), deviceBuffer(s.name(), bytes));
            }
            enqueue(shapeKey.toString(), moved);
            for (Map.Entry<String, HostTensor> e : out.entrySet()) {
                HostTensor t = e.getValue();
                BytePointer host = new BytePointer(t.byteBuffer());
                hostViews.add(host);
                checkCuda("cudaMemcpyAsync D2H", cudaMemcpyAsync(host, deviceBuffers.get(e.getKey()).ptr, t.byteSize(),
                        cudaMemcpyDeviceToHost, stream));
            }
            checkCuda("cudaStreamSynchronize", cudaStreamSynchronize(stream));
        } finally {
            // The views only alias the callers' tensors; closing them frees nothing.
            hostViews.forEach(BytePointer::close);
        }
    }

    private boolean bind(String name, DeviceMemory d) {
        Pointer bound = context.getTensorAddress(name);
        if (bound != null && bound.address() == d.ptr.address()) return false;
        if (!context.setTensorAddress(name, d.ptr)) throw new EngineException("TensorRT rejected the address of tensor '" + name + "'");
        return true;
    }

    private void enqueue(String shapeKey, boolean addressesMoved) {
        if (!useGraphs || graphsFailed) {
            if (!context.enqueueV3(stream)) throw new EngineException(model.getFileName() + ": TensorRT enqueueV3 failed (see the TensorRT log)");
            return;
        }
        if (graphExec != null && !addressesMoved && shapeKey.equals(graphShapeKey)) {
            checkCuda("cudaGraphLaunch", cudaGraphLaunch(graphExec, stream));
            return;
        }
        destroyGraph();
        // The first enqueue after a shape change does deferred work that cannot be captured, so
        // run it plainly; capture the next one for later runs with these shapes and addresses.
        if (!context.enqueueV3(stream)) throw new EngineException(model.getFileName() + ": TensorRT enqueueV3 failed (see the TensorRT log)");
        CUgraph_st graph = new CUgraph_st();
        int rc = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
        boolean enqueued = rc == 0 && context.enqueueV3(stream);
        if (rc == 0) rc = cudaStreamEndCapture(stream, graph);
        if (rc == 0 && enqueued) {
            CUgraphExec_st exec = new CUgraphExec_st();
            rc = cudaGraphInstantiate(exec, graph, 0L);
            if (rc == 0) {
                graphExec = exec;
                graphShapeKey = shapeKey;
            }
        }
        if (!graph.isNull()) cudaGraphDestroy(graph);
        if (graphExec == null) {
            graphsFailed = true;
            LOG.log(Level.WARNING, model.getFileName() + ": CUDA-graph capture failed (cudaError " + rc + "); running without graphs");
        }
    }

    private DeviceMemory deviceBuffer(String name, long bytes) {
        DeviceMemory d = deviceBuffers.computeIfAbsent(name, k -> new DeviceMemory());
        if (d.ptr == null || d.bytes < bytes) {
            if (d.ptr != null) {
                cudaFree(d.ptr);
                d.ptr = null;
            }
            Pointer p = new Pointer();
            checkCuda("cudaMalloc(" + bytes + ")", cudaMalloc(p, Math.max(bytes, 1)));
            d.ptr = p;
            d.bytes = bytes;
            destroyGraph();
        }
        return d;
    }

    private void destroyGraph() {
        if (graphExec != null) {
            cudaGraphExecDestroy(graphExec);
            graphExec = null;
            graphShapeKey = null;
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
            if (t.isClosed()) throw new EngineException(model.getFileName() + ": input '" + s.name() + "' is a closed tensor");
            if (!s.accepts(t)) throw new EngineException("input '" + s.name() + "' expects " + s.describe() + ", got " + t.describe());
        }
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("TensorRtEngine for " + model.getFileName() + " is closed");
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            cudaStreamSynchronize(stream);
            destroyGraph();
            for (DeviceMemory d : deviceBuffers.values()) {
                if (d.ptr != null) cudaFree(d.ptr);
                d.ptr = null;
            }
            deviceBuffers.clear();
            cudaStreamDestroy(stream);
            // TensorRT's required order: context, engine, runtime (class comment).
            CpuKernels.deleteTensorRtObject(context);
            CpuKernels.deleteTensorRtObject(engine);
            CpuKernels.deleteTensorRtObject(runtime);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "TensorRtEngine[" + model.getFileName() + ", inputs=" + inputs + ", outputs=" + outputs + (closed ? ", closed" : "") + "]";
    }
}
