package org.ovseg.text;

import org.ovseg.OvsegException;

/**
 * A tokenizer vocabulary is unusable: unreadable, not UTF-8, empty, without a required special
 * token, or with a token listed twice. The one-line message starts with the vocabulary's source
 * (a file path, or "vocabulary list") and, where one line is to blame, its 1-based line number.
 */
public final class VocabularyException extends OvsegException {
    private static final long serialVersionUID = 1L;

    /** @param message one line naming the vocabulary and the problem */
    public VocabularyException(String message) {
        super(oneLine(message));
    }

    /** As {@link #VocabularyException(String)}, with the underlying failure. */
    public VocabularyException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }
}
