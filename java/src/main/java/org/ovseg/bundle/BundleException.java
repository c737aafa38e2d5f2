package org.ovseg.bundle;

import java.nio.file.Path;
import org.ovseg.OvsegException;

/**
 * A model bundle is unusable. The one-line message starts with the file at fault and, where one
 * field is to blame, its path in bundle.json ("networks.image.sha256"), so the fix is obvious
 * without a debugger.
 */
public final class BundleException extends OvsegException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final String field;

    /**
     * @param file the file at fault
     * @param field dotted field path in bundle.json, or null when no single field is to blame
     * @param problem what is wrong
     */
    public BundleException(Path file, String field, String problem) {
        this(file, field, problem, null);
    }

    /** As {@link #BundleException(Path, String, String)}, with the underlying failure. */
    public BundleException(Path file, String field, String problem, Throwable cause) {
        // Field names and values come from the file: a newline in a key must not split the message.
        super(oneLine(file + ": " + (field == null ? "" : field + ": ") + problem), cause);
        this.file = file;
        this.field = field;
    }

    /** @return the file at fault */
    public Path file() {
        return file;
    }

    /** @return the bundle.json field at fault, or null */
    public String field() {
        return field;
    }
}
