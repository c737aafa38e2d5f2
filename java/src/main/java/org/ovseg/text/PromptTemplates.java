package org.ovseg.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.ovseg.OvsegException;

/**
 * A named set of prompt templates, each with one {@code {}} where the class name goes. Built-in
 * sets: {@code imagenet80} (CLIP's 80 ImageNet templates, the default), {@code maskclip85}
 * (MaskCLIP's set: those 80 plus 5 scene templates) and {@code single} ("a photo of a {}.").
 *
 * @param name the set's name (a file path for sets read from disk)
 * @param templates the templates, in order
 */
public record PromptTemplates(String name, List<String> templates) {
    /** Names of the built-in sets. */
    public static final List<String> BUILT_IN = List.of("imagenet80", "maskclip85", "single");

    /** Validates and copies. */
    public PromptTemplates {
        templates = List.copyOf(templates);
        if (templates.isEmpty()) throw new OvsegException("prompt template set '" + name + "' is empty");
        for (String t : templates) {
            int at = t.indexOf("{}");
            if (at < 0 || t.indexOf("{}", at + 2) >= 0) {
                throw new OvsegException("prompt template '" + t + "' in set '" + name + "' must contain '{}' exactly once");
            }
        }
    }

    /**
     * A built-in set by name, or a UTF-8 text file with one template per line ('#' comments).
     */
    public static PromptTemplates named(String nameOrPath) {
        String key = nameOrPath.toLowerCase(Locale.ROOT);
        if (BUILT_IN.contains(key)) {
            try (InputStream in = PromptTemplates.class.getResourceAsStream("templates-" + key + ".txt")) {
                if (in == null) throw new IllegalStateException("built-in template set " + key + " missing from the jar");
                return new PromptTemplates(key, parse(in));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read built-in template set " + key, e);
            }
        }
        Path p = Path.of(nameOrPath);
        if (!Files.isRegularFile(p)) {
            throw new OvsegException("unknown prompt template set '" + nameOrPath + "' (built-in: " + String.join(", ", BUILT_IN) + ", or a file)");
        }
        try (InputStream in = Files.newInputStream(p)) {
            return new PromptTemplates(p.toString(), parse(in));
        } catch (IOException e) {
            throw new OvsegException("cannot read prompt templates " + p + ": " + e.getMessage());
        }
    }

    private static List<String> parse(InputStream in) throws IOException {
        List<String> out = new ArrayList<>();
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        for (String line; (line = r.readLine()) != null; ) {
            String t = line.strip();
            if (!t.isEmpty() && !t.startsWith("#")) out.add(t);
        }
        return out;
    }

    /** @return the template with {@code label} in place of {@code {}} */
    public String apply(int template, String label) {
        return templates.get(template).replace("{}", label);
    }

    /** @return a digest of the templates' text, so caches key on content, not on the name */
    public String fingerprint() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String t : templates) {
                md.update(t.getBytes(StandardCharsets.UTF_8));
                md.update((byte) '\n');
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return number of templates */
    public int size() {
        return templates.size();
    }
}
