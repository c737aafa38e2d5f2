package org.ovseg.kernel;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The host buffers of one native kernel call, checked as they are named: direct, native byte
 * order, large enough from their position, outputs writable, and no output sharing memory with
 * any other operand. Native code writes outputs through raw pointers, so a read-only buffer (a
 * read-only mapped file: the JVM crashes) or an output overlapping an input (results depend on
 * the order of the loops) has to be refused here. Every failure is an
 * {@link IllegalArgumentException} naming the operation and the operands.
 */
final class Operands {
    private record Span(String name, long start, long end, boolean output) {
        boolean overlaps(Span o) {
            return start < o.end && o.start < end;
        }
    }

    private final String op;
    private final List<Span> spans = new ArrayList<>(8);

    Operands(String op) {
        this.op = op;
    }

    /** A required input holding at least {@code elements} from its position (null only when 0). */
    Operands in(String name, Buffer b, long elements) {
        Checks.buffer(op, name, b, elements);
        return add(name, b, elements, false);
    }

    /** An optional input: null, or as {@link #in}. */
    Operands optionalIn(String name, Buffer b, long elements) {
        Checks.optional(op, name, b, elements);
        return add(name, b, elements, false);
    }

    /** A required output: as {@link #in}, writable, overlapping no other operand. */
    Operands out(String name, Buffer b, long elements) {
        Checks.buffer(op, name, b, elements);
        return add(name, b, elements, true);
    }

    /** An optional output: null, or as {@link #out}. */
    Operands optionalOut(String name, Buffer b, long elements) {
        Checks.optional(op, name, b, elements);
        return add(name, b, elements, true);
    }

    private Operands add(String name, Buffer b, long elements, boolean output) {
        if (b == null || elements == 0) return this;
        if (output && b.isReadOnly()) throw new IllegalArgumentException(op + ": output " + name + " is read-only");
        long size = elementBytes(b);
        long start = BufferAddress.of(b) + (long) b.position() * size;
        Span s = new Span(name, start, start + elements * size, output);
        for (Span o : spans) {
            if ((output || o.output) && s.overlaps(o)) {
                Span out = s.output ? s : o;
                Span other = out == s ? o : s;
                throw new IllegalArgumentException(op + ": output " + out.name + " shares memory with "
                        + (other.output ? "output " : "input ") + other.name);
            }
        }
        spans.add(s);
        return this;
    }

    private static long elementBytes(Buffer b) {
        if (b instanceof ByteBuffer) return 1;
        if (b instanceof ShortBuffer || b instanceof CharBuffer) return 2;
        if (b instanceof FloatBuffer || b instanceof IntBuffer) return 4;
        if (b instanceof DoubleBuffer || b instanceof LongBuffer) return 8;
        throw new IllegalArgumentException("unsupported buffer type " + b.getClass().getName());
    }
}
