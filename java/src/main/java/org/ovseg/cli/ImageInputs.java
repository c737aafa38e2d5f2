package org.ovseg.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.ovseg.OvsegException;

/**
 * The images of a command, without needing a long command line (a JVM with thousands of
 * arguments is fragile): each {@code --image} is a file, a directory (its image files, sorted,
 * not recursive) or a glob ({@code photos/*.jpg}, {@code data/**.png}); {@code --images-from}
 * names a text file with one path per line (blank lines and lines starting with # skipped).
 */
final class ImageInputs {
    /** File endings a directory or glob contributes (the decoder reads these). */
    static final Set<String> IMAGE_ENDINGS = Set.of("png", "jpg", "jpeg", "bmp", "gif");

    private ImageInputs() {}

    /**
     * @throws OvsegException when a named file, directory or list does not exist, or a directory
     *     or glob matches no image
     */
    static List<Path> expand(List<String> specs, List<String> listFiles) {
        List<Path> out = new ArrayList<>();
        for (String spec : specs) out.addAll(expandOne(spec));
        for (String list : listFiles) {
            Path file = Path.of(list);
            List<String> lines;
            try {
                lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new OvsegException("cannot read --images-from " + list + " (" + e.getClass().getSimpleName() + ")");
            }
            for (String line : lines) {
                String s = line.strip();
                if (!s.isEmpty() && !s.startsWith("#")) out.add(Path.of(s));
            }
        }
        return out;
    }

    private static List<Path> expandOne(String spec) {
        Path p = Path.of(spec);
        if (Files.isDirectory(p)) {
            List<Path> found = list(p, 1, f -> isImage(f));
            if (found.isEmpty()) throw new OvsegException("no images (" + String.join(", ", new java.util.TreeSet<>(IMAGE_ENDINGS)) + ") in directory " + spec);
            return found;
        }
        if (Files.exists(p) || !isGlob(spec)) return List.of(p); // checked (exists, readable) with the others later
        int cut = firstGlobChar(spec);
        int slash = spec.lastIndexOf('/', cut);
        Path base = slash < 0 ? Path.of(".") : Path.of(spec.substring(0, slash + 1));
        if (!Files.isDirectory(base)) throw new OvsegException("--image " + spec + ": directory " + base + " does not exist");
        String pattern = slash < 0 ? spec : spec.substring(slash + 1);
        PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + pattern);
        boolean deep = pattern.contains("**") || pattern.contains("/");
        List<Path> found = list(base, deep ? Integer.MAX_VALUE : 1, f -> m.matches(base.relativize(f)) && isImage(f));
        if (found.isEmpty()) throw new OvsegException("--image " + spec + " matches no image");
        return found;
    }

    private static List<Path> list(Path dir, int depth, java.util.function.Predicate<Path> keep) {
        try (Stream<Path> s = Files.walk(dir, depth)) {
            return s.filter(Files::isRegularFile).filter(keep).sorted().toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new OvsegException("cannot list " + dir + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    static boolean isImage(Path f) {
        String n = f.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 && IMAGE_ENDINGS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static boolean isGlob(String s) {
        return firstGlobChar(s) >= 0;
    }

    private static int firstGlobChar(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '*' || c == '?' || c == '[' || c == '{') return i;
        }
        return -1;
    }
}
