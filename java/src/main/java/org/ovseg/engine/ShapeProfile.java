package org.ovseg.engine;

import java.util.Arrays;
import java.util.Objects;
import org.ovseg.tensor.Shapes;

/**
 * A TensorRT optimisation profile for one dynamic input: the smallest, typical and largest shape
 * the engine must accept. The plan is tuned for {@code opt}.
 *
 * @param min smallest shape (copied)
 * @param opt shape the kernels are tuned for (copied)
 * @param max largest shape (copied)
 */
public record ShapeProfile(long[] min, long[] opt, long[] max) {

    /** Checks equal ranks and min ≤ opt ≤ max on every axis. */
    public ShapeProfile {
        Objects.requireNonNull(min, "min");
        Objects.requireNonNull(opt, "opt");
        Objects.requireNonNull(max, "max");
        min = min.clone();
        opt = opt.clone();
        max = max.clone();
        if (min.length != opt.length || opt.length != max.length) {
            throw new IllegalArgumentException("ShapeProfile ranks differ: " + this);
        }
        for (int i = 0; i < min.length; i++) {
            if (min[i] < 0 || min[i] > opt[i] || opt[i] > max[i]) {
                throw new IllegalArgumentException("ShapeProfile needs 0 <= min <= opt <= max on every axis: " + this);
            }
        }
    }

    /** A profile that accepts exactly one shape. */
    public static ShapeProfile fixed(long... shape) {
        return new ShapeProfile(shape, shape, shape);
    }

    @Override
    public long[] min() {
        return min.clone();
    }

    @Override
    public long[] opt() {
        return opt.clone();
    }

    @Override
    public long[] max() {
        return max.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShapeProfile p && Arrays.equals(min, p.min) && Arrays.equals(opt, p.opt) && Arrays.equals(max, p.max);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(min), Arrays.hashCode(opt), Arrays.hashCode(max));
    }

    @Override
    public String toString() {
        return "min=" + Shapes.toString(min) + " opt=" + Shapes.toString(opt) + " max=" + Shapes.toString(max);
    }
}
