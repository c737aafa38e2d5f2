package org.ovseg.serve;

import org.ovseg.OvsegException;

/** A request the server refuses, with the HTTP status to answer and a one-line reason. */
public class HttpStatusException extends OvsegException {
    private static final long serialVersionUID = 1L;
    private final int status;

    /**
     * @param status the HTTP status code (4xx or 5xx)
     * @param message one line, sent to the client as {@code {"error": message}}
     */
    public HttpStatusException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** @return the HTTP status code to answer with */
    public int status() {
        return status;
    }

    /** A malformed or invalid request: 400. */
    static HttpStatusException badRequest(String message) {
        return new HttpStatusException(400, message);
    }
}
