package org.ovseg.engine.onnx;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** {@link Ref#assertClose} must fail on a NaN or an infinity wherever it sits. */
class RefCloseTest {
    private static final float[] WANT = {1, -2, 3, 4};

    @Test
    void passesWithinTolerance() {
        Ref.assertClose(WANT, new float[] {1, -2, 3.00001f, 4}, 1e-4, 1e-5);
    }

    @Test
    void failsOnNanInTheMiddleInfinityOrNanReference() {
        assertThrows(AssertionFailedError.class, () -> Ref.assertClose(WANT, new float[] {1, Float.NaN, 3, 40}, 1e-4, 1e-5));
        assertThrows(AssertionFailedError.class, () -> Ref.assertClose(WANT, new float[] {1, -2, Float.POSITIVE_INFINITY, 4}, 1e-4, 1e-5));
        assertThrows(AssertionFailedError.class, () -> Ref.assertClose(new float[] {Float.NaN}, new float[] {Float.NaN}, 1e-4, 1e-5));
    }
}
