package org.ovseg;

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
}
