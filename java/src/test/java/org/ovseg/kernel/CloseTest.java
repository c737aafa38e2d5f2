package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The comparator behind the kernel tests must fail on a NaN or infinity wherever it sits. */
class CloseTest {
    private static final double[] WANT = {1, -2, 3, 4, 5};

    @Test
    void passesWithinToleranceAndFailsBeyondIt() {
        assertEquals(-1, Close.firstMismatch(WANT, new float[] {1, -2, 3.0001f, 4, 5}, 1e-4));
        assertEquals(3, Close.firstMismatch(WANT, new float[] {1, -2, 3, 4.01f, 5}, 1e-4));
    }

    @Test
    void nanInTheMiddleFailsAtItsIndex() {
        assertEquals(2, Close.firstMismatch(WANT, new float[] {1, -2, Float.NaN, 4, 5}, 1e-4));
        assertEquals(0, Close.firstMismatch(WANT, new float[] {Float.NaN, -2, 3, 4, 5}, 1e-4));
        assertEquals(4, Close.firstMismatch(WANT, new float[] {1, -2, 3, 4, Float.NaN}, 1e-4));
    }

    @Test
    void infinityWhereFiniteIsExpectedFailsAndSoDoesANaNReference() {
        assertEquals(1, Close.firstMismatch(WANT, new float[] {1, Float.NEGATIVE_INFINITY, 3, 4, 5}, 1e-4));
        assertEquals(0, Close.firstMismatch(new double[] {Double.NaN}, new float[] {Float.NaN}, 1e-4));
        assertEquals(0, Close.firstMismatch(new double[] {Double.POSITIVE_INFINITY}, new float[] {Float.POSITIVE_INFINITY}, 1e-4));
    }

    @Test
    void lengthMismatchFails() {
        assertEquals(2, Close.firstMismatch(new double[] {1, 2, 3}, new float[] {1, 2}, 1e-4));
    }
}
