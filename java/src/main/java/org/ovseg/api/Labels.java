package org.ovseg.api;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The words an image is segmented into, in the order that gives each its index in the label map.
 * Any Unicode text is allowed; the list is validated once, here: at least one label, at most
 * {@value #MAX_LABELS} (over three times the largest public segmentation vocabulary, LVIS's 1,203
 * classes; the 16-bit label map could hold 65,534, but every label costs a text-encoder pass per
 * prompt template, 80 by default), none blank, none
 * containing control characters, and no two equal after CLIP's own normalisation (case and
 * surrounding whitespace do not distinguish labels, since the text encoder cannot tell them
 * apart). Immutable.
 */
public final class Labels {
    /** Most labels one request may hold. */
    public static final int MAX_LABELS = 4096;
    /** Longest label in characters (the text context bounds it further, per model). */
    public static final int MAX_LABEL_CHARS = 1000;
    private final List<String> names;

    private Labels(List<String> names) {
        this.names = List.copyOf(names);
    }

    /**
     * Splits a comma-separated list ("cat, sofa, sky"), trimming each entry.
     *
     * @throws InvalidLabelsException when the list is unusable
     */
    public static Labels parse(String commaSeparated) {
        if (commaSeparated == null) throw new InvalidLabelsException("no labels given");
        List<String> parts = new ArrayList<>();
        for (String p : commaSeparated.split(",", -1)) parts.add(p.strip());
        if (parts.size() == 1 && parts.get(0).isEmpty()) throw new InvalidLabelsException("no labels given (--labels is empty)");
        for (int i = 0; i < parts.size(); i++) {
            if (parts.get(i).isEmpty()) throw new InvalidLabelsException("label " + (i + 1) + " of '" + abbreviate(commaSeparated) + "' is empty (stray comma?)");
        }
        return of(parts);
    }

    /**
     * @throws InvalidLabelsException when the list is unusable
     */
    public static Labels of(List<String> names) {
        if (names == null || names.isEmpty()) throw new InvalidLabelsException("no labels given");
        if (names.size() > MAX_LABELS) {
            throw new InvalidLabelsException("too many labels: " + names.size() + " (at most " + MAX_LABELS + " per request)");
        }
        Map<String, Integer> seen = new HashMap<>();
        List<String> clean = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i) == null ? "" : names.get(i).strip();
            if (n.isEmpty()) throw new InvalidLabelsException("label " + (i + 1) + " is blank");
            if (n.length() > MAX_LABEL_CHARS) throw new InvalidLabelsException("label " + (i + 1) + " is " + n.length() + " characters long (at most " + MAX_LABEL_CHARS + ")");
            for (int j = 0; j < n.length(); j++) {
                char c = n.charAt(j);
                if (Character.isISOControl(c)) throw new InvalidLabelsException("label '" + abbreviate(n) + "' contains a control character (U+" + String.format("%04X", (int) c) + ")");
            }
            String key = Normalizer.normalize(n, Normalizer.Form.NFC).toLowerCase(Locale.ROOT).replaceAll("\\s+", " ");
            Integer prev = seen.putIfAbsent(key, i);
            if (prev != null) {
                throw new InvalidLabelsException("duplicate label '" + abbreviate(n) + "' (labels " + (prev + 1) + " and " + (i + 1) + " are the same word)");
            }
            clean.add(n);
        }
        return new Labels(clean);
    }

    /** Shortens user text for a message, control characters escaped so the message stays one line. */
    private static String abbreviate(String s) {
        String a = s.length() <= 60 ? s : s.substring(0, 57) + "...";
        StringBuilder out = new StringBuilder(a.length());
        for (int i = 0; i < a.length(); i++) {
            char c = a.charAt(i);
            if (Character.isISOControl(c)) out.append(String.format("\\u%04X", (int) c));
            else out.append(c);
        }
        return out.toString();
    }

    /** @return the labels, in index order (immutable) */
    public List<String> names() {
        return names;
    }

    /** @return number of labels */
    public int size() {
        return names.size();
    }

    /** @return label {@code i} */
    public String get(int i) {
        return names.get(i);
    }

    @Override
    public String toString() {
        return String.join(", ", names);
    }
}
