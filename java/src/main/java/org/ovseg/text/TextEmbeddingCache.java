package org.ovseg.text;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.ovseg.io.AtomicFiles;
import org.ovseg.io.CacheRoot;

/**
 * Class text embeddings keyed by (model fingerprint, template-set fingerprint, label): in memory
 * (bounded LRU) and, when a directory is given, on disk as one small file per key, so a second
 * process with the same labels skips the text encoder entirely. Disk entries are written
 * atomically and checked on read (magic, dimension, length); a damaged entry is ignored and
 * recomputed. Thread-safe.
 */
public final class TextEmbeddingCache {
    private static final int MAGIC = 0x4F565445; // "OVTE"
    private static final int MEMORY_ENTRIES = 16384;
    private final Path dir; // null: memory only
    private final Map<String, float[]> memory = new LinkedHashMap<>(256, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
            return size() > MEMORY_ENTRIES;
        }
    };

    /** @param dir disk cache directory, or null for memory only */
    public TextEmbeddingCache(Path dir) {
        this.dir = dir;
    }

    /** The default directory: text-embeddings under {@link CacheRoot#defaultRoot()}. */
    public static Path defaultDirectory() {
        return CacheRoot.defaultRoot().resolve("text-embeddings");
    }

    static String key(String model, String templates, String label) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((model + "\u0000" + templates + "\u0000" + label).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the cached embedding of dimension {@code dim}, if present */
    public Optional<float[]> get(String model, String templates, String label, int dim) {
        String k = key(model, templates, label);
        synchronized (memory) {
            float[] v = memory.get(k);
            if (v != null && v.length == dim) return Optional.of(v.clone());
        }
        if (dir == null) return Optional.empty();
        Path f = file(k);
        try {
            byte[] bytes = Files.readAllBytes(f);
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            if (bytes.length != 8 + 4L * dim || b.getInt() != MAGIC || b.getInt() != dim) return Optional.empty();
            float[] v = new float[dim];
            b.asFloatBuffer().get(v);
            synchronized (memory) {
                memory.put(k, v.clone());
            }
            return Optional.of(v);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Stores an embedding; disk failures are ignored (the cache is an optimisation). */
    public void put(String model, String templates, String label, float[] embedding) {
        String k = key(model, templates, label);
        synchronized (memory) {
            memory.put(k, embedding.clone());
        }
        if (dir == null) return;
        ByteBuffer b = ByteBuffer.allocate(8 + 4 * embedding.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(embedding.length);
        b.asFloatBuffer().put(embedding);
        Path f = file(k);
        try {
            Files.createDirectories(f.getParent());
            AtomicFiles.write(f, b.array());
        } catch (IOException | RuntimeException e) {
            org.ovseg.Logging.logger(TextEmbeddingCache.class).log(System.Logger.Level.DEBUG, "text cache write failed: " + e);
        }
    }

    private Path file(String key) {
        return dir.resolve(key.substring(0, 2)).resolve(key.substring(2) + ".f32");
    }
}
