package org.ovseg;

import java.util.regex.Pattern;

/**
 * Base of every checked failure ovseg reports: bad input, a malformed model bundle, a backend
 * that cannot run. Lives at the bottom of the package tree so every layer can throw it.
 */
public class OvsegException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message one line saying what failed and why */
    public OvsegException(String message) {
        super(message);
    }

    /**
     * @param message one line saying what failed and why
     * @param cause the underlying failure
     */
    public OvsegException(String message, Throwable cause) {
        super(message, cause);
    }

    // ECMA-48 control sequences (ONNX Runtime colours its log lines; a message carrying one would
    // recolour the user's terminal), then any other control character but line breaks and tabs.
    private static final Pattern ESCAPES = Pattern.compile("\\x1B\\[[0-?]*[ -/]*[@-~]|\\x1B[@-_]|[\\p{Cntrl}&&[^\\r\\n\\t]]");

    /**
     * Makes a message from a native library or any other outside source fit the one-line
     * contract: terminal escape sequences and control characters removed, line breaks and the
     * space around them folded into one space.
     *
     * @return the cleaned message, or "(no message)" for null
     */
    public static String oneLine(String s) {
        if (s == null) return "(no message)";
        return ESCAPES.matcher(s).replaceAll("").replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
