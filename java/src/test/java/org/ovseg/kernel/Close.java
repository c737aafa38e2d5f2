package org.ovseg.kernel;

/** The elementwise tolerance the kernel tests share, written so that a NaN or an infinity fails. */
final class Close {
    private Close() {}

    /**
     * @return the first index where |got - want| <= tol·(1 + |want|) does not hold (a NaN on either
     *     side, or an infinity, never holds), or -1 when every element is within tolerance
     */
    static int firstMismatch(double[] want, float[] got, double tol) {
        if (want.length != got.length) return Math.min(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(got[i] - want[i]);
            // Negated <=: a NaN compares false, so it lands here instead of slipping through.
            if (!(err <= tol * (1 + Math.abs(want[i])))) return i;
        }
        return -1;
    }
}
