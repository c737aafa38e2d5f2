package org.ovseg.image;

import org.ovseg.OvsegException;

/** An image that cannot be read: missing, corrupt, unsupported or too large. */
public final class ImageDecodeException extends OvsegException {
    private static final long serialVersionUID = 1L;

    /** @param message one line naming the file and the problem */
    public ImageDecodeException(String message) {
        super(message);
    }
}
