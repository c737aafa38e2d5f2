package org.ovseg.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.ovseg.engine.onnx.OnnxModelInfo;

/** SHA-256 of files (streamed, so a 600 MB ONNX file never sits in the heap), of ONNX models with their external data, and of strings. */
public final class Digests {
    private static final int CHUNK = 1 << 20;
    // Process-wide memo: a multi-GB weight file is hashed once per (path, size, mtime), by the bundle loader and
    // the plan cache alike.
    private static final Map<String, String> CACHE = new ConcurrentHashMap<>();

    private Digests() {}

    /**
     * @return lower-case hex SHA-256 of the file's bytes, read in 1 MiB chunks
     * @throws IOException when the file cannot be read
     */
    public static String sha256(Path file) throws IOException {
        MessageDigest md = newSha256();
        byte[] buf = new byte[CHUNK];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * As {@link #sha256(Path)}, remembered for the life of the process per (absolute path, size, modification
     * time), so a file that has not changed is read once.
     *
     * @throws IOException when the file cannot be read
     */
    public static String sha256Cached(Path file) throws IOException {
        Path abs = file.toAbsolutePath().normalize();
        BasicFileAttributes a = Files.readAttributes(abs, BasicFileAttributes.class);
        String key = abs + "|" + a.size() + "|" + a.lastModifiedTime().toMillis();
        String cached = CACHE.get(key);
        if (cached != null) return cached;
        String sha = sha256(abs);
        CACHE.put(key, sha);
        return sha;
    }

    /**
     * A SHA-256 that identifies an ONNX model's content: the file's own hash for a self-contained model; for one
     * with ONNX external data, a hash over the file's hash and each data file's (resolved relative to the model's
     * directory, as ONNX Runtime and TensorRT read them), so changed weights give a new value where the .onnx file
     * alone is unchanged. Caches keyed by a model (TensorRT plans) use this.
     *
     * @throws IOException when the model or a data file cannot be read
     * @throws EngineException when the model is not a readable ONNX file
     */
    public static String modelSha256(Path onnx) throws IOException {
        String own = sha256Cached(onnx);
        java.util.List<String> locations = OnnxModelInfo.read(onnx).externalData();
        if (locations.isEmpty()) return own;
        StringBuilder sb = new StringBuilder("onnx ").append(own);
        Path dir = onnx.toAbsolutePath().getParent();
        for (String loc : locations) sb.append("\ndata ").append(loc).append(' ').append(sha256Cached(dir.resolve(loc)));
        return sha256(sb.toString());
    }

    /** @return lower-case hex SHA-256 of the UTF-8 bytes of {@code text} */
    public static String sha256(String text) {
        return HexFormat.of().formatHex(newSha256().digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            // Every Java SE runtime must provide SHA-256.
            throw new AssertionError(e);
        }
    }
}
