package org.ovseg.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a file through a temporary sibling and a rename, so a reader (or a crash) never sees a
 * half-written output.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Something that writes the whole content into the given path. */
    @FunctionalInterface
    public interface Writer {
        /** @param target the temporary file to fill */
        void write(Path target) throws IOException;
    }

    /** Writes {@code target} atomically. */
    public static void write(Path target, Writer writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".part");
        try {
            writer.write(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Writes several files as one step as far as a filesystem allows: every file is written to a
     * temporary sibling first, and only when all are complete are they renamed into place. A
     * failure while writing leaves every existing target as it was and no temporary behind.
     */
    public static void writeAll(java.util.Map<Path, Writer> files) throws IOException {
        for (Path target : files.keySet()) {
            // A rename onto a directory would fail after earlier files were renamed: refuse first.
            if (Files.isDirectory(target)) throw new IOException(target + " is a directory");
        }
        java.util.Map<Path, Path> temps = new java.util.LinkedHashMap<>();
        try {
            for (var e : files.entrySet()) {
                Path target = e.getKey();
                Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), "." + target.getFileName(), ".part");
                temps.put(target, tmp);
                e.getValue().write(tmp);
            }
            for (var e : temps.entrySet()) {
                try {
                    Files.move(e.getValue(), e.getKey(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException ex) {
                    Files.move(e.getValue(), e.getKey(), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } finally {
            for (Path tmp : temps.values()) Files.deleteIfExists(tmp);
        }
    }

    /** Writes bytes atomically. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, p -> Files.write(p, bytes));
    }
}
