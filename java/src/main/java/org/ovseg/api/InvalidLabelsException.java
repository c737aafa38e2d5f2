package org.ovseg.api;

import org.ovseg.OvsegException;

/** The label list cannot be used: empty, too many, duplicated, blank or too long. */
public final class InvalidLabelsException extends OvsegException {
    private static final long serialVersionUID = 1L;

    /** @param message one line saying which label and why */
    public InvalidLabelsException(String message) {
        super(message);
    }
}
