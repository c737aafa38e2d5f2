package org.ovseg.bundle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The .npy reader on well-formed files and on the malformed headers fuzzing found. */
class NpyTest {
    /** A version-1 file with {@code dict} as its header and {@code body} after it. */
    private static byte[] v1(String dict, int bodyBytes) {
        byte[] h = dict.getBytes(StandardCharsets.ISO_8859_1);
        return ByteBuffer.allocate(10 + h.length + bodyBytes).order(ByteOrder.LITTLE_ENDIAN)
                .put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) h.length).put(h).array();
    }

    private static String dict(String descr, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }\n";
    }

    private static String failure(byte[] file) {
        return assertThrows(IOException.class, () -> Npy.readFloats(file, "a.npy")).getMessage();
    }

    @Test
    void roundTripsWithNumpysShapeSyntax() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Npy.writeFloats(out, new float[] {1, -2.5f, 3}, 3);
        Npy.FloatArray a = Npy.readFloats(out.toByteArray(), "a.npy");
        assertArrayEquals(new long[] {3}, a.shape());
        assertArrayEquals(new float[] {1, -2.5f, 3}, a.data());
        assertArrayEquals(new long[0], Npy.readFloats(v1(dict("<f4", ""), 4), "s.npy").shape());
        assertArrayEquals(new long[] {2, 0}, Npy.readFloats(v1(dict("<f4", "2, 0"), 0), "e.npy").shape());
    }

    @Test
    void versionTwoHeaderLengthIsUnsigned() {
        // Found by fuzzing: 0xffffffff read as -1 passed the bounds check (StringIndexOutOfBounds).
        byte[] f = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(-1).array();
        assertEquals("a.npy: truncated .npy header", failure(f));
    }

    @Test
    void truncatedVersionTwoPrefix() {
        // Found by fuzzing: an 11-byte version-3 file read its 4-byte length past the end.
        byte[] f = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 3, 0, 1, 0, 0};
        assertEquals("a.npy: truncated .npy header", failure(f));
    }

    @Test
    void nonNumericShapeIsMalformed() {
        // Found by fuzzing: Long.parseLong's NumberFormatException escaped.
        assertEquals("a.npy: malformed .npy shape (+,)", failure(v1(dict("<f4", "+,"), 0)));
        assertEquals("a.npy: malformed .npy shape (()", failure(v1("{'descr': '<f4', 'fortran_order': False, 'shape':((), }", 0)));
        assertEquals("a.npy: malformed .npy shape (, ,)", failure(v1(dict("<f4", ", ,"), 0)));
    }

    @Test
    void negativeDimensionsAreMalformed() {
        // (-2, -2) multiplied to 4 and was accepted with a negative shape.
        assertEquals("a.npy: malformed .npy shape (-2, -2)", failure(v1(dict("<f4", "-2, -2"), 16)));
    }

    @Test
    void overflowingShapeIsRefused() {
        // 2^62 elements of 4 bytes wrapped to 0 bytes needed.
        assertEquals("a.npy: .npy shape (4611686018427387904,) is too large", failure(v1(dict("<f4", "4611686018427387904,"), 0)));
        assertEquals("a.npy: .npy shape (99999999999999999999,) is too large", failure(v1(dict("<f4", "99999999999999999999,"), 0)));
    }

    @Test
    void controlCharactersInDtypeStayOnOneLine() {
        // Found by fuzzing: the dtype was echoed raw, newline included.
        assertEquals("a.npy: dtype '<\\x01\\x0a' is not float32/float64 little-endian", failure(v1(dict("<\u0001\n", "1,"), 4)));
    }
}
