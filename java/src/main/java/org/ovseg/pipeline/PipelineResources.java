package org.ovseg.pipeline;

import java.util.Objects;
import org.ovseg.engine.EngineOptions;
import org.ovseg.text.TextEmbeddingCache;

/**
 * What every pipeline gets from its owner: how to open engines and where text embeddings are
 * cached. The pipeline owns the engines it opens, not these.
 *
 * @param engines backend, threads, plan cache
 * @param textCache the disk cache of text embeddings (may be disabled)
 */
public record PipelineResources(EngineOptions engines, TextEmbeddingCache textCache) {
    /** Checks both are present. */
    public PipelineResources {
        Objects.requireNonNull(engines, "engines");
        Objects.requireNonNull(textCache, "textCache");
    }
}
