package org.ovseg.engine;

import org.ovseg.OvsegException;

/** An engine could not be opened or run: bad model, wrong inputs, a backend that is not there. */
public class EngineException extends OvsegException {
    private static final long serialVersionUID = 1L;

    /** @param message one line saying what failed and why */
    public EngineException(String message) {
        super(message);
    }

    /**
     * @param message one line saying what failed and why
     * @param cause the backend's own failure
     */
    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
