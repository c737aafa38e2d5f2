package org.ovseg.pipeline.common;

import java.util.OptionalInt;
import org.ovseg.engine.EngineException;

/**
 * An encoder would need more memory at the requested input size than the machine has free, so
 * it was not run (ONNX Runtime would fail deep inside an allocation, or the machine would swap).
 * The message says what fits instead.
 */
public class InsufficientMemoryException extends EngineException {
    private static final long serialVersionUID = 1L;

    private final long neededBytes;
    private final long availableBytes;
    private final int largestFittingSize;

    /**
     * @param message one line: what was asked, what it needs, what is available, what fits
     * @param neededBytes the estimate for the request
     * @param availableBytes the memory the estimate was compared with
     * @param largestFittingSize the largest short side that fits, or 0 when none does
     */
    public InsufficientMemoryException(String message, long neededBytes, long availableBytes, int largestFittingSize) {
        super(message);
        this.neededBytes = neededBytes;
        this.availableBytes = availableBytes;
        this.largestFittingSize = largestFittingSize;
    }

    /** @return the estimated bytes the request needs */
    public long neededBytes() {
        return neededBytes;
    }

    /** @return the bytes that were available */
    public long availableBytes() {
        return availableBytes;
    }

    /** @return the largest short side (same image, same settings) that fits, if any */
    public OptionalInt largestFittingSize() {
        return largestFittingSize > 0 ? OptionalInt.of(largestFittingSize) : OptionalInt.empty();
    }
}
