package org.ovseg.spark;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.ovseg.image.ImageDecodeException;
import org.ovseg.io.AtomicFiles;

/**
 * Where the job reads images and writes label maps. A path without a scheme or with {@code file:}
 * is a local file and goes through java.nio, exactly as {@code ovseg segment} reads and writes
 * (relative paths are resolved against the driver's working directory, as {@code --images-from}
 * resolves them). Any other scheme ({@code hdfs:}, {@code s3a:}, ...) goes through Hadoop's
 * FileSystem API with the job's Hadoop configuration.
 */
final class Locations {
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]+:.*");

    private Locations() {}

    /** @return true for a path java.nio reads: no scheme, or {@code file:} */
    static boolean isLocal(String location) {
        return !SCHEME.matcher(location).matches() || location.regionMatches(true, 0, "file:", 0, 5);
    }

    /** @return the local file a local location names; relative ones against {@code cwd} */
    static java.nio.file.Path local(String location, String cwd) {
        if (location.regionMatches(true, 0, "file:", 0, 5)) return java.nio.file.Path.of(URI.create(location));
        java.nio.file.Path p = java.nio.file.Path.of(location);
        return p.isAbsolute() ? p : java.nio.file.Path.of(cwd).resolve(p).normalize();
    }

    /**
     * @return the location as Spark and Hadoop should see it: a local one as a {@code file:} URI,
     *     so that a path without a scheme means the local file here too, not the cluster's default
     *     filesystem
     */
    static String forHadoop(String location, String cwd) {
        return isLocal(location) ? local(location, cwd).toUri().toString() : location;
    }

    /** @return a Hadoop configuration holding exactly {@code entries} (a copy of the driver's) */
    static Configuration hadoopConf(Map<String, String> entries) {
        Configuration c = new Configuration(false);
        entries.forEach(c::set);
        return c;
    }

    /**
     * Reads a whole file through Hadoop's FileSystem API.
     *
     * @throws ImageDecodeException worded as the local decoder words a file it cannot read
     */
    static byte[] readHadoop(String location, Configuration conf) {
        try {
            Path p = new Path(location);
            FileSystem fs = p.getFileSystem(conf);
            if (!fs.exists(p)) throw new ImageDecodeException("image not found: " + location);
            long len = fs.getFileStatus(p).getLen();
            if (len > Integer.MAX_VALUE - 16) throw new ImageDecodeException("image file too large to read: " + location);
            try (InputStream in = fs.open(p)) {
                return in.readAllBytes();
            }
        } catch (IOException e) {
            throw new ImageDecodeException("cannot read image " + location + ": " + e.getMessage());
        }
    }

    /** Writes label PNGs into one directory, each through a temporary name and a rename. */
    interface LabelStore {
        /** @return the location of the written file */
        String write(String fileName, byte[] bytes) throws IOException;

        /** A store for {@code dir}: java.nio when local, Hadoop's FileSystem otherwise. */
        static LabelStore open(String dir, String cwd, Configuration conf) throws IOException {
            return isLocal(dir) ? new Local(local(dir, cwd)) : new Hadoop(new Path(dir), conf);
        }
    }

    /** The same atomic write as {@code segment}'s (temporary sibling, atomic rename). */
    record Local(java.nio.file.Path dir) implements LabelStore {
        @Override
        public String write(String fileName, byte[] bytes) throws IOException {
            java.nio.file.Path target = dir.resolve(fileName);
            Files.createDirectories(dir);
            AtomicFiles.write(target, bytes);
            return target.toString();
        }
    }

    /**
     * Temporary sibling, then rename. Hadoop's rename does not replace an existing file (HDFS
     * refuses), so an existing target is deleted first: a reader may briefly see no file, never a
     * half-written one.
     */
    record Hadoop(Path dir, Configuration conf) implements LabelStore {
        @Override
        public String write(String fileName, byte[] bytes) throws IOException {
            FileSystem fs = dir.getFileSystem(conf);
            Path target = new Path(dir, fileName), tmp = new Path(dir, "." + fileName + "." + UUID.randomUUID() + ".part");
            try {
                try (FSDataOutputStream out = fs.create(tmp, false)) {
                    out.write(bytes);
                }
                if (fs.exists(target) && !fs.delete(target, false)) throw new IOException("cannot replace " + target);
                if (!fs.rename(tmp, target)) throw new IOException("cannot rename " + tmp + " to " + target);
                return target.toString();
            } finally {
                if (fs.exists(tmp)) fs.delete(tmp, false);
            }
        }
    }
}
