package org.ovseg.kernel;

import java.nio.Buffer;

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

    /** A required buffer: direct and holding at least {@code elements} from its position. */
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
        if (b.remaining() < elements) {
            throw new IllegalArgumentException(op + ": " + name + " holds " + b.remaining()
                    + " elements, needs " + elements);
        }
    }

    static void status(String op, int rc) {
        if (rc != 0) throw new KernelException(op, rc, NativeCpu.ovseg_status_string(rc));
    }
}
