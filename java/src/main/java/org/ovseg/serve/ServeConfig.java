package org.ovseg.serve;

/**
 * Limits and addresses of a {@link SegmentServer}.
 *
 * @param host the address to listen on (127.0.0.1 by default: exposing the server is a choice)
 * @param port the TCP port; 0 picks a free one
 * @param workers segmentation threads sharing the one Segmenter
 * @param queue requests that may wait for a worker; beyond workers + queue the server answers 503
 * @param timeoutMs per-request time limit from admission to the response (504 past it)
 * @param maxBodyBytes largest request body (413 past it)
 * @param maxFieldBytes largest text field (labels, stuff)
 * @param maxParts most parts in one form
 */
public record ServeConfig(String host, int port, int workers, int queue, long timeoutMs, long maxBodyBytes, int maxFieldBytes, int maxParts) {
    /** Default body limit: 20 MiB, room for a large JPEG or PNG photo. */
    public static final long DEFAULT_MAX_BODY_BYTES = 20L << 20;
    /** Default text field limit: 1 MiB, room for 4,096 long labels. */
    public static final int DEFAULT_MAX_FIELD_BYTES = 1 << 20;

    /** Checks every value. */
    public ServeConfig {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("--host must not be empty");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be between 0 and 65535, got " + port);
        if (workers < 1) throw new IllegalArgumentException("--workers must be at least 1, got " + workers);
        if (queue < 0) throw new IllegalArgumentException("--queue must be at least 0, got " + queue);
        if (timeoutMs < 1) throw new IllegalArgumentException("--timeout-ms must be at least 1, got " + timeoutMs);
        if (maxBodyBytes < 1) throw new IllegalArgumentException("--max-bytes must be at least 1, got " + maxBodyBytes);
        if (maxFieldBytes < 1 || maxParts < 1) throw new IllegalArgumentException("field limits must be positive");
    }

    /** @return 127.0.0.1:8080, min(2, cores) workers, a queue of 16, 60 s, 20 MiB */
    public static ServeConfig defaults() {
        return new ServeConfig("127.0.0.1", 8080, Math.min(2, Runtime.getRuntime().availableProcessors()), 16, 60_000,
                DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_FIELD_BYTES, 16);
    }

    /** @return a copy listening on host:port */
    public ServeConfig withAddress(String h, int p) {
        return new ServeConfig(h, p, workers, queue, timeoutMs, maxBodyBytes, maxFieldBytes, maxParts);
    }

    /** @return a copy with this many workers and queue places */
    public ServeConfig withConcurrency(int w, int q) {
        return new ServeConfig(host, port, w, q, timeoutMs, maxBodyBytes, maxFieldBytes, maxParts);
    }

    /** @return a copy with this per-request time limit */
    public ServeConfig withTimeoutMs(long ms) {
        return new ServeConfig(host, port, workers, queue, ms, maxBodyBytes, maxFieldBytes, maxParts);
    }

    /** @return a copy with this body limit */
    public ServeConfig withMaxBodyBytes(long bytes) {
        return new ServeConfig(host, port, workers, queue, timeoutMs, bytes, maxFieldBytes, maxParts);
    }

    MultipartForm.Limits multipartLimits() {
        return new MultipartForm.Limits(maxBodyBytes, maxParts, maxFieldBytes, 8192);
    }
}
