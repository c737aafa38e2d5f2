package org.ovseg.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;
import org.ovseg.tensor.Shapes;

/**
 * Name, element type and shape of one network input or output. A dimension of -1 is dynamic;
 * {@code axisNames} holds the symbolic name of each axis where the model gives one ("batch",
 * "height") and null elsewhere, so it always has the shape's length.
 *
 * @param name tensor name as the model spells it
 * @param type element type
 * @param shape dimensions, -1 for dynamic axes (copied; the accessor returns a copy)
 * @param axisNames symbolic axis names, null entries for unnamed axes (unmodifiable)
 */
public record TensorSpec(String name, ElementType type, long[] shape, List<String> axisNames) {

    /** Validates and copies; a null {@code axisNames} means no axis is named. */
    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(shape, "shape");
        shape = shape.clone();
        for (long d : shape) {
            if (d < -1) throw new IllegalArgumentException("tensor '" + name + "': dimension " + d + " (use -1 for dynamic)");
        }
        if (axisNames == null) {
            axisNames = Collections.nCopies(shape.length, null);
        } else if (axisNames.size() != shape.length) {
            throw new IllegalArgumentException("tensor '" + name + "': " + axisNames.size() + " axis names for rank " + shape.length);
        }
        axisNames = Collections.unmodifiableList(new ArrayList<>(axisNames));
    }

    /** A spec without symbolic axis names. */
    public static TensorSpec of(String name, ElementType type, long... shape) {
        return new TensorSpec(name, type, shape, null);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** @return the number of axes */
    public int rank() {
        return shape.length;
    }

    /** @return true when no axis is dynamic */
    public boolean isStatic() {
        return Shapes.isStatic(shape);
    }

    /** @return true when {@code t} has this type, this rank and every static dimension */
    public boolean accepts(HostTensor t) {
        return t.type() == type && Shapes.fits(shape, t.shape());
    }

    /** @return e.g. "FLOAT32 [1,3,-1,-1]" */
    public String describe() {
        return type + " " + Shapes.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec s && name.equals(s.name) && type == s.type
                && Arrays.equals(shape, s.shape) && axisNames.equals(s.axisNames);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, type, Arrays.hashCode(shape), axisNames);
    }

    @Override
    public String toString() {
        return "'" + name + "' " + describe();
    }
}
