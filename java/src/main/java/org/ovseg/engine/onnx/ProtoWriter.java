package org.ovseg.engine.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The few protobuf wire-format primitives ONNX needs: varints, 32-bit floats, length-delimited
 * bytes and nested messages. Fields are written in the order the caller writes them, which is
 * what makes the encoder's output deterministic.
 */
final class ProtoWriter {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LEN = 2;
    static final int FIXED32 = 5;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    void tag(int field, int wireType) {
        rawVarint(((long) field << 3) | wireType);
    }

    /** int32, int64 and enum fields; negative values take ten bytes, as protobuf specifies. */
    void int64(int field, long value) {
        tag(field, VARINT);
        rawVarint(value);
    }

    void float32(int field, float value) {
        tag(field, FIXED32);
        int bits = Float.floatToIntBits(value);
        out.write(bits);
        out.write(bits >>> 8);
        out.write(bits >>> 16);
        out.write(bits >>> 24);
    }

    void bytes(int field, byte[] value) {
        tag(field, LEN);
        rawVarint(value.length);
        out.write(value, 0, value.length);
    }

    void string(int field, String value) {
        bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    void message(int field, ProtoWriter nested) {
        bytes(field, nested.toByteArray());
    }

    private void rawVarint(long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }
}
