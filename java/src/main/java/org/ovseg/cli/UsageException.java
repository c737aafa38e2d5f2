package org.ovseg.cli;

import org.ovseg.OvsegException;

/** Bad command-line input: printed as one {@code error: ...} line, exit code 2. */
final class UsageException extends OvsegException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
