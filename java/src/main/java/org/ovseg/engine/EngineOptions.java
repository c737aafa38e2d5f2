package org.ovseg.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How to open an engine. Immutable; build with {@link #builder()}. Options of the backend that
 * is not chosen are ignored, so one value serves both.
 */
public final class EngineOptions {

    /** ONNX Runtime graph optimisation level (ORT's {@code GraphOptimizationLevel}). */
    public enum GraphOptimization {
        /** No rewriting at all (useful to debug a graph). */
        DISABLED,
        /** Constant folding and redundant-node elimination. */
        BASIC,
        /** BASIC plus fusions (attention, LayerNorm, GELU). */
        EXTENDED,
        /** Everything, including layout changes: the fastest on CPU. */
        ALL
    }

    /** Default TensorRT workspace: 1 GiB, enough for ViT-L attention tactics at 1024². */
    public static final long DEFAULT_WORKSPACE_BYTES = 1L << 30;

    private final Backend backend;
    private final int intraOpThreads;
    private final GraphOptimization graphOptimization;
    private final Path optimizedModelPath;
    private final Path planCacheDir;
    private final Path timingCachePath;
    private final long workspaceBytes;
    private final int builderOptimizationLevel;
    private final Map<String, ShapeProfile> profiles;
    private final List<String> precisionPreference;
    private final boolean cudaGraphs;
    private final boolean cpuMemoryArena;

    private EngineOptions(Builder b) {
        this.backend = b.backend;
        this.intraOpThreads = b.intraOpThreads;
        this.graphOptimization = b.graphOptimization;
        this.optimizedModelPath = b.optimizedModelPath;
        this.planCacheDir = b.planCacheDir;
        this.timingCachePath = b.timingCachePath;
        this.workspaceBytes = b.workspaceBytes;
        this.builderOptimizationLevel = b.builderOptimizationLevel;
        this.profiles = Collections.unmodifiableMap(new LinkedHashMap<>(b.profiles));
        this.precisionPreference = List.copyOf(b.precisionPreference);
        this.cudaGraphs = b.cudaGraphs;
        this.cpuMemoryArena = b.cpuMemoryArena;
    }

    /** @return a builder with the defaults (AUTO, all cores, ORT level ALL, 1 GiB workspace, fp16 before fp32) */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the defaults */
    public static EngineOptions defaults() {
        return builder().build();
    }

    /** @return a builder starting from these options */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.backend = backend;
        b.intraOpThreads = intraOpThreads;
        b.graphOptimization = graphOptimization;
        b.optimizedModelPath = optimizedModelPath;
        b.planCacheDir = planCacheDir;
        b.timingCachePath = timingCachePath;
        b.workspaceBytes = workspaceBytes;
        b.builderOptimizationLevel = builderOptimizationLevel;
        b.profiles.putAll(profiles);
        b.precisionPreference.clear();
        b.precisionPreference.addAll(precisionPreference);
        b.cudaGraphs = cudaGraphs;
        b.cpuMemoryArena = cpuMemoryArena;
        return b;
    }

    /** @return the requested backend */
    public Backend backend() {
        return backend;
    }

    /** @return ONNX Runtime intra-op threads; 0 lets ORT use one per physical core */
    public int intraOpThreads() {
        return intraOpThreads;
    }

    /** @return ONNX Runtime graph optimisation level */
    public GraphOptimization graphOptimization() {
        return graphOptimization;
    }

    /** @return where ONNX Runtime writes the optimised model, if anywhere */
    public Optional<Path> optimizedModelPath() {
        return Optional.ofNullable(optimizedModelPath);
    }

    /** @return directory of serialized TensorRT plans, if plans are cached */
    public Optional<Path> planCacheDir() {
        return Optional.ofNullable(planCacheDir);
    }

    /** @return TensorRT timing-cache file (read before a build, written after), if any */
    public Optional<Path> timingCachePath() {
        return Optional.ofNullable(timingCachePath);
    }

    /** @return TensorRT workspace memory-pool limit in bytes */
    public long workspaceBytes() {
        return workspaceBytes;
    }

    /** @return TensorRT builder optimisation level 0–5, or -1 for TensorRT's default */
    public int builderOptimizationLevel() {
        return builderOptimizationLevel;
    }

    /** @return TensorRT optimisation profile per dynamic input name */
    public Map<String, ShapeProfile> profiles() {
        return profiles;
    }

    /**
     * @return precision variants to try, most preferred first ("fp16", "fp32", ...); see
     *     {@link Engines#open(Map, EngineOptions)}
     */
    public List<String> precisionPreference() {
        return precisionPreference;
    }

    /** @return whether TensorRT runs are captured once per input-shape set and replayed as CUDA graphs */
    public boolean cudaGraphs() {
        return cudaGraphs;
    }

    /** @return whether ONNX Runtime keeps its CPU memory arena (default true) */
    public boolean cpuMemoryArena() {
        return cpuMemoryArena;
    }

    @Override
    public String toString() {
        return "EngineOptions[backend=" + backend + ", intraOpThreads=" + intraOpThreads + ", graphOptimization="
                + graphOptimization + ", workspaceBytes=" + workspaceBytes + ", profiles=" + profiles
                + ", precisionPreference=" + precisionPreference + ", cudaGraphs=" + cudaGraphs + ", cpuMemoryArena=" + cpuMemoryArena + "]";
    }

    /** Mutable builder of {@link EngineOptions}; not thread-safe. */
    public static final class Builder {
        private Backend backend = Backend.AUTO;
        private int intraOpThreads = 0;
        private GraphOptimization graphOptimization = GraphOptimization.ALL;
        private Path optimizedModelPath;
        private Path planCacheDir;
        private Path timingCachePath;
        private long workspaceBytes = DEFAULT_WORKSPACE_BYTES;
        private int builderOptimizationLevel = -1;
        private final Map<String, ShapeProfile> profiles = new LinkedHashMap<>();
        private final List<String> precisionPreference = new ArrayList<>(List.of("fp16", "fp32"));
        private boolean cudaGraphs;
        private boolean cpuMemoryArena = true;

        private Builder() {}

        /** Sets the backend (default AUTO). */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /** Sets ONNX Runtime intra-op threads; 0 (default) lets ORT decide. */
        public Builder intraOpThreads(int threads) {
            if (threads < 0) throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + threads);
            this.intraOpThreads = threads;
            return this;
        }

        /** Sets the ONNX Runtime graph optimisation level (default ALL). */
        public Builder graphOptimization(GraphOptimization level) {
            this.graphOptimization = Objects.requireNonNull(level, "level");
            return this;
        }

        /** Makes ONNX Runtime write its optimised graph to {@code path} (null: don't). */
        public Builder optimizedModelPath(Path path) {
            this.optimizedModelPath = path;
            return this;
        }

        /** Caches serialized TensorRT plans in {@code dir} (null: build every time). */
        public Builder planCacheDir(Path dir) {
            this.planCacheDir = dir;
            return this;
        }

        /** Uses and updates a TensorRT timing cache file (null: none). */
        public Builder timingCachePath(Path path) {
            this.timingCachePath = path;
            return this;
        }

        /** Sets the TensorRT workspace limit in bytes (default 1 GiB). */
        public Builder workspaceBytes(long bytes) {
            if (bytes <= 0) throw new IllegalArgumentException("workspaceBytes must be > 0, got " + bytes);
            this.workspaceBytes = bytes;
            return this;
        }

        /** Sets the TensorRT builder optimisation level 0–5 (-1: TensorRT's default). */
        public Builder builderOptimizationLevel(int level) {
            if (level < -1 || level > 5) throw new IllegalArgumentException("builderOptimizationLevel must be -1..5, got " + level);
            this.builderOptimizationLevel = level;
            return this;
        }

        /** Adds the TensorRT optimisation profile of one dynamic input. */
        public Builder profile(String input, ShapeProfile profile) {
            profiles.put(Objects.requireNonNull(input, "input"), Objects.requireNonNull(profile, "profile"));
            return this;
        }

        /** Sets the precision variants in order of preference, e.g. "fp16", "fp32". */
        public Builder precisionPreference(String... precisions) {
            if (precisions.length == 0) throw new IllegalArgumentException("precisionPreference needs at least one entry");
            precisionPreference.clear();
            for (String p : precisions) precisionPreference.add(p.trim().toLowerCase(Locale.ROOT));
            return this;
        }

        /** Enables CUDA-graph capture of TensorRT runs (default off). */
        public Builder cudaGraphs(boolean enabled) {
            this.cudaGraphs = enabled;
            return this;
        }

        /**
         * Whether ONNX Runtime's CPU arena serves the session's tensors (default true). Off suits
         * graphs whose intermediate sizes swing from call to call (CaR's Grad-CAM graph, batched
         * by the number of queries): the arena keeps its peak for good.
         */
        public Builder cpuMemoryArena(boolean enabled) {
            this.cpuMemoryArena = enabled;
            return this;
        }

        /** @return the options */
        public EngineOptions build() {
            return new EngineOptions(this);
        }
    }
}
