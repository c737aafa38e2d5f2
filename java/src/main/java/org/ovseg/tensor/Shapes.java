package org.ovseg.tensor;

/** Small helpers for shapes as {@code long[]}; -1 marks a dynamic axis where one is allowed. */
public final class Shapes {
    private Shapes() {}

    /**
     * Number of elements of a concrete shape.
     *
     * @throws IllegalArgumentException for a negative dimension or a count that overflows a long
     */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("shape " + toString(shape) + " has a negative dimension");
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** @return e.g. "[1,3,-1,-1]" (the form every engine and bundle error message uses) */
    public static String toString(long[] shape) {
        if (shape == null) return "[?]";
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(',');
            sb.append(shape[i]);
        }
        return sb.append(']').toString();
    }

    /**
     * Whether a concrete shape fits a declared one: same rank, and equal wherever the declared
     * dimension is not -1.
     */
    public static boolean fits(long[] declared, long[] actual) {
        if (declared.length != actual.length) return false;
        for (int i = 0; i < declared.length; i++) {
            if (declared[i] >= 0 && declared[i] != actual[i]) return false;
        }
        return true;
    }

    /** @return true when no dimension is negative */
    public static boolean isStatic(long[] shape) {
        for (long d : shape) {
            if (d < 0) return false;
        }
        return true;
    }
}
