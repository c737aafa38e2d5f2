package org.ovseg.io;

import java.nio.file.Path;

/** Where ovseg keeps its caches (built-in bundles, text embeddings, TensorRT plans). */
public final class CacheRoot {
    private CacheRoot() {}

    /** $OVSEG_CACHE_DIR, else $XDG_CACHE_HOME/ovseg, else ~/.cache/ovseg. */
    public static Path defaultRoot() {
        String env = System.getenv("OVSEG_CACHE_DIR");
        if (env != null && !env.isBlank()) return Path.of(env);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("ovseg");
    }
}
