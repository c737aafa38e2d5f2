package org.ovseg.spark;

import java.io.Serializable;
import java.nio.file.Path;
import org.ovseg.api.Segmenter;
import org.ovseg.engine.Backend;

/**
 * Everything that decides which {@link Segmenter} a task needs, as a value: it travels to the
 * executors inside the task closure and is the key under which {@link ExecutorSegmenters} keeps
 * one Segmenter per JVM. Null fields mean "the library's default", exactly as when the
 * corresponding {@code ovseg segment} option is omitted.
 *
 * @param model bundle directory or {@code builtin:NAME}; null = the pipeline's demo model
 * @param pipeline registry name ({@code maskclip}, {@code car}); null = the bundle decides
 * @param cacheDir where built-in bundles and text embeddings are cached; null = {@code ~/.cache/ovseg}
 */
public record SegmenterSpec(String model, String pipeline, Backend backend, Integer size, int window, int stride, String templates,
        Float keySmoothing, Float promptDenoising, String preset, int threads, String cacheDir, boolean textCache, long maxPixels)
        implements Serializable {

    /**
     * Loads the model: the same builder calls {@code ovseg segment} makes for the same options,
     * so both label an image identically.
     */
    public Segmenter build() {
        Segmenter.Builder b = Segmenter.builder().backend(backend).diskTextCache(textCache).maxPixels(maxPixels);
        if (model != null) b.model(model);
        if (pipeline != null) b.pipeline(pipeline);
        if (window > 0) b.slidingWindow(window, stride);
        if (size != null) b.size(size);
        if (templates != null) b.templates(templates);
        if (keySmoothing != null) b.keySmoothing(keySmoothing);
        if (promptDenoising != null) b.promptDenoising(promptDenoising);
        if (threads > 0) b.threads(threads);
        if (cacheDir != null) b.cacheDir(Path.of(cacheDir));
        if (preset != null) b.preset(preset);
        return b.build();
    }
}
