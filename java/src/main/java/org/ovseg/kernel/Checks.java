package org.ovseg.kernel;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;

/** Argument checks shared by the kernel wrappers; every failure is one clear sentence. */
final class Checks {
    private Checks() {}

    static void sizes(String op, long... sizes) {
        for (long s : sizes) {
            if (s < 0) throw new IllegalArgumentException(op + ": negative size " + s);
        }
    }

    static long product(String op, long... sizes) {
        long p = 1;
        for (long s : sizes) p = Math.multiplyExact(p, s);
        return p;
    }

    /**
     * A required buffer: direct, in native byte order (multi-byte elements) and holding at least
     * {@code elements} from its position. Writability and aliasing: {@link Operands}.
     */
    static void buffer(String op, String name, Buffer b, long elements) {
        if (b == null) {
            if (elements == 0) return;
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        optional(op, name, b, elements);
    }

    /** An optional buffer: may be null; otherwise as {@link #buffer}. */
    static void optional(String op, String name, Buffer b, long elements) {
        if (b == null) return;
        if (!b.isDirect()) throw new IllegalArgumentException(op + ": " + name + " must be a direct buffer");
        ByteOrder order = order(b);
        if (order != null && order != ByteOrder.nativeOrder()) {
            throw new IllegalArgumentException(op + ": " + name + " is " + order + ", native code needs "
                    + ByteOrder.nativeOrder() + " (view it with .order(ByteOrder.nativeOrder()))");
        }
        if (b.remaining() < elements) {
            throw new IllegalArgumentException(op + ": " + name + " holds " + b.remaining()
                    + " elements, needs " + elements);
        }
    }

    /** The byte order a view's elements are read in; null for bytes, where it does not matter. */
    private static ByteOrder order(Buffer b) {
        if (b instanceof FloatBuffer f) return f.order();
        if (b instanceof IntBuffer i) return i.order();
        if (b instanceof ShortBuffer s) return s.order();
        if (b instanceof CharBuffer c) return c.order();
        if (b instanceof DoubleBuffer d) return d.order();
        if (b instanceof LongBuffer l) return l.order();
        return null;
    }

    /** Status code 7 (OVSEG_ERR_ISA) in ovseg.h: OVSEG_CPU_ISA forces a table the CPU lacks. */
    static final int ERR_ISA = 7;

    static void status(String op, int rc) {
        if (rc == 0) return;
        String detail = NativeCpu.ovseg_status_string(rc);
        if (rc == ERR_ISA) detail = NativeCpu.ovseg_cpu_isa_error();
        throw new KernelException(op, rc, detail);
    }
}
