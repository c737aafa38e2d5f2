package org.ovseg.kernel;

import org.ovseg.OvsegException;

/** A native kernel returned an error status; {@link #status()} is the ovseg_status code. */
public final class KernelException extends OvsegException {
    private static final long serialVersionUID = 1L;
    private final int status;

    KernelException(String operation, int status, String detail) {
        super(operation + " failed: " + detail + " (status " + status + ")");
        this.status = status;
    }

    /** @return the native status code (see native/include/ovseg.h) */
    public int status() {
        return status;
    }
}
