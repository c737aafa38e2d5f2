package org.ovseg.engine.onnx;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A forward-only protobuf reader over a buffer (a memory-mapped file, so the weights of a large
 * model are skipped, never copied). Unknown fields are skipped by wire type. Malformed input
 * raises {@link IllegalArgumentException} with the byte offset.
 */
final class ProtoReader {
    private final ByteBuffer buf;
    private final int end;
    private int fieldNumber;
    private int wireType;

    /** Reads {@code buf} from its position to its limit. */
    ProtoReader(ByteBuffer buf) {
        this.buf = buf;
        this.end = buf.limit();
    }

    /** @return true when positioned on a new field (read with the typed readers or {@link #skip()}) */
    boolean next() {
        if (buf.position() >= end) return false;
        long key = readVarint();
        fieldNumber = (int) (key >>> 3);
        wireType = (int) (key & 7);
        if (fieldNumber <= 0) throw bad("field number " + fieldNumber);
        return true;
    }

    int field() {
        return fieldNumber;
    }

    int wireType() {
        return wireType;
    }

    long readInt64() {
        expect(ProtoWriter.VARINT);
        return readVarint();
    }

    float readFloat() {
        expect(ProtoWriter.FIXED32);
        advance(0);
        if (end - buf.position() < 4) throw bad("truncated float");
        int bits = (buf.get() & 0xFF) | (buf.get() & 0xFF) << 8 | (buf.get() & 0xFF) << 16 | (buf.get() & 0xFF) << 24;
        return Float.intBitsToFloat(bits);
    }

    String readString() {
        ByteBuffer b = readBytes();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return new String(a, StandardCharsets.UTF_8);
    }

    /** @return a view of the length-delimited payload (no copy), and steps past it */
    ByteBuffer readBytes() {
        expect(ProtoWriter.LEN);
        int len = length();
        ByteBuffer slice = buf.duplicate();
        slice.limit(buf.position() + len);
        buf.position(buf.position() + len);
        return slice.slice();
    }

    /** @return a reader over the nested message */
    ProtoReader readMessage() {
        return new ProtoReader(readBytes());
    }

    void skip() {
        switch (wireType) {
            case ProtoWriter.VARINT: readVarint(); break;
            case ProtoWriter.FIXED64: advance(8); break;
            case ProtoWriter.LEN: advance(length()); break;
            case ProtoWriter.FIXED32: advance(4); break;
            default: throw bad("unsupported wire type " + wireType + " (field " + fieldNumber + ")");
        }
    }

    private int length() {
        long len = readVarint();
        if (len < 0 || len > end - buf.position()) throw bad("length " + len + " runs past the end");
        return (int) len;
    }

    private void advance(int n) {
        if (n > end - buf.position()) throw bad("field " + fieldNumber + " runs past the end");
        buf.position(buf.position() + n);
    }

    private void expect(int wt) {
        if (wireType != wt) throw bad("field " + fieldNumber + " has wire type " + wireType + ", expected " + wt);
    }

    private long readVarint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (buf.position() >= end) throw bad("truncated varint");
            byte b = buf.get();
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw bad("varint longer than 10 bytes");
    }

    private IllegalArgumentException bad(String what) {
        return new IllegalArgumentException("malformed protobuf at byte " + buf.position() + ": " + what);
    }
}
