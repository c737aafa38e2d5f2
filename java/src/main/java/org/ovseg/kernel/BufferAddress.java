package org.ovseg.kernel;

import java.nio.Buffer;
import org.bytedeco.javacpp.Pointer;

/**
 * The native address of a direct buffer's element 0, through JavaCPP's JNI
 * {@code GetDirectBufferAddress} (public JDK API has none; {@code sun.nio.ch.DirectBuffer} is
 * internal). Never instantiated: subclassing only reaches the protected static method.
 */
final class BufferAddress extends Pointer {
    private BufferAddress() {}

    /** @return the address of {@code b}'s element 0 (not of its position); 0 when not direct */
    static long of(Buffer b) {
        return getDirectBufferAddress(b);
    }
}
