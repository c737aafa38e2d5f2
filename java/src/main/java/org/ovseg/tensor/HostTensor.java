package org.ovseg.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import org.bytedeco.javacpp.BytePointer;

/**
 * A tensor in host memory that this object owns: an immutable shape, an element type and a
 * native-order direct buffer of exactly {@code elementCount * type.bytes()} bytes.
 *
 * <p>Memory comes from JavaCPP ({@link BytePointer}) rather than {@link ByteBuffer#allocateDirect}
 * because {@link #close()} must give the memory back now: a direct ByteBuffer is freed only when
 * the garbage collector gets to it, and the activations of a 1024² ViT run to tens of megabytes
 * per request. JavaCPP's allocation is also counted against {@code org.bytedeco.javacpp.maxBytes}
 * and still freed by its reference tracking if a caller forgets to close.
 *
 * <p>Buffers handed out by the view methods alias the native memory; they must not be used after
 * {@code close()} (the memory is gone, and the JVM cannot revoke a ByteBuffer). Each call returns
 * an independent view (own position and limit), so several threads may read one tensor at once;
 * writes from several threads need the caller's own synchronisation. After {@code close()} every
 * data accessor throws {@link IllegalStateException}; the shape and type stay readable.
 */
public final class HostTensor implements AutoCloseable {
    private final ElementType type;
    private final long[] shape;
    private final long elementCount;
    private final int byteSize;
    private BytePointer memory;
    private ByteBuffer data;
    private volatile boolean closed;

    private HostTensor(ElementType type, long[] shape) {
        if (type == null) throw new IllegalArgumentException("HostTensor: element type is null");
        if (shape == null) throw new IllegalArgumentException("HostTensor: shape is null");
        this.type = type;
        this.shape = shape.clone();
        this.elementCount = Shapes.elementCount(this.shape);
        long bytes = Math.multiplyExact(elementCount, (long) type.bytes());
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("HostTensor " + type + " " + Shapes.toString(shape)
                    + " needs " + bytes + " bytes; host tensors are limited to 2 GiB");
        }
        this.byteSize = (int) bytes;
        // One byte minimum: a zero-element tensor still needs a non-null address for ORT.
        this.memory = new BytePointer(Math.max(1L, bytes));
        this.memory.zero();
        ByteBuffer whole = memory.asByteBuffer();
        whole.limit(byteSize);
        this.data = whole.slice().order(ByteOrder.nativeOrder());
    }

    /** @return a zero-filled tensor of the given type and shape */
    public static HostTensor zeros(ElementType type, long... shape) {
        return new HostTensor(type, shape);
    }

    /** @return a FLOAT32 tensor holding a copy of {@code values}, whose length must match the shape */
    public static HostTensor of(float[] values, long... shape) {
        HostTensor t = new HostTensor(ElementType.FLOAT32, shape);
        t.requireLength(values.length);
        t.floatBuffer().put(values);
        return t;
    }

    /** @return an INT32 tensor holding a copy of {@code values} */
    public static HostTensor of(int[] values, long... shape) {
        HostTensor t = new HostTensor(ElementType.INT32, shape);
        t.requireLength(values.length);
        t.intBuffer().put(values);
        return t;
    }

    /** @return an INT64 tensor holding a copy of {@code values} */
    public static HostTensor of(long[] values, long... shape) {
        HostTensor t = new HostTensor(ElementType.INT64, shape);
        t.requireLength(values.length);
        t.longBuffer().put(values);
        return t;
    }

    private void requireLength(int length) {
        if (length != elementCount) {
            close();
            throw new IllegalArgumentException("HostTensor.of: " + length + " values for shape "
                    + Shapes.toString(shape) + " (" + elementCount + " elements)");
        }
    }

    /** @return the element type */
    public ElementType type() {
        return type;
    }

    /** @return a copy of the shape */
    public long[] shape() {
        return shape.clone();
    }

    /** @return the number of axes */
    public int rank() {
        return shape.length;
    }

    /** @return the size of axis {@code i} */
    public long dim(int i) {
        return shape[i];
    }

    /** @return the number of elements (product of the shape) */
    public long elementCount() {
        return elementCount;
    }

    /** @return the number of bytes of data */
    public int byteSize() {
        return byteSize;
    }

    /** @return true once {@link #close()} has run */
    public boolean isClosed() {
        return closed;
    }

    /** @return a native-order view of all bytes, position 0 (valid until close) */
    public ByteBuffer byteBuffer() {
        return live().duplicate().order(ByteOrder.nativeOrder());
    }

    /** @return a view of the elements; the type must be FLOAT32 */
    public FloatBuffer floatBuffer() {
        requireType(ElementType.FLOAT32, "floatBuffer");
        return byteBuffer().asFloatBuffer();
    }

    /** @return a view of the elements; the type must be INT32 */
    public IntBuffer intBuffer() {
        requireType(ElementType.INT32, "intBuffer");
        return byteBuffer().asIntBuffer();
    }

    /** @return a view of the elements; the type must be INT64 */
    public LongBuffer longBuffer() {
        requireType(ElementType.INT64, "longBuffer");
        return byteBuffer().asLongBuffer();
    }

    /** @return a view of the raw 16-bit elements; the type must be FLOAT16 or BFLOAT16 */
    public ShortBuffer shortBuffer() {
        if (type != ElementType.FLOAT16 && type != ElementType.BFLOAT16) {
            throw new IllegalStateException("shortBuffer: tensor is " + type + ", not FLOAT16 or BFLOAT16");
        }
        return byteBuffer().asShortBuffer();
    }

    /** @return a copy of the elements; the type must be FLOAT32 */
    public float[] toFloatArray() {
        float[] out = new float[(int) elementCount];
        floatBuffer().get(out);
        return out;
    }

    /** @return a copy of the elements; the type must be INT32 */
    public int[] toIntArray() {
        int[] out = new int[(int) elementCount];
        intBuffer().get(out);
        return out;
    }

    /** @return a copy of the elements; the type must be INT64 */
    public long[] toLongArray() {
        long[] out = new long[(int) elementCount];
        longBuffer().get(out);
        return out;
    }

    private void requireType(ElementType expected, String what) {
        if (type != expected) throw new IllegalStateException(what + ": tensor is " + type + ", not " + expected);
    }

    private ByteBuffer live() {
        ByteBuffer d = data;
        if (closed || d == null) throw new IllegalStateException("HostTensor " + describe() + " is closed");
        return d;
    }

    /** @return e.g. "FLOAT32 [1,3,224,224]" */
    public String describe() {
        return type + " " + Shapes.toString(shape);
    }

    /** Frees the memory now; idempotent. Views obtained earlier must not be used afterwards. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        data = null;
        memory.close();
        memory = null;
    }

    @Override
    public String toString() {
        return "HostTensor " + describe() + (closed ? " (closed)" : "");
    }
}
