package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Buffers native code must not be handed: read-only outputs (a read-only mapped file written by
 * native code kills the JVM), non-native-order views (native code reads raw bytes: garbage), and
 * outputs sharing memory with another operand. Each is an IllegalArgumentException naming the
 * operand; the legal neighbours of each case (read-only inputs, adjacent slices of one arena)
 * still compute the right answer.
 */
class OperandsTest {
    private static FloatBuffer arena(int n) {
        FloatBuffer b = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < n; i++) b.put(i, 1 + i % 7);
        return b;
    }

    private static FloatBuffer slice(FloatBuffer b, int from, int to) {
        return b.duplicate().position(from).limit(to).slice();  // a view keeps its byte order
    }

    private static void assertRejected(String part, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    /** maskPool with C = 2, Q = 1, HW = 2: F[2,2], M[1,2], out[1,2]. */
    private static void pool(FloatBuffer F, FloatBuffer M, FloatBuffer out) {
        CpuKernels.maskPool(F, M, 1, 2, 1, 2, MaskMode.SOFT, false, out);
    }

    @Test
    void readOnlyOutputIsRejectedAndReadOnlyInputIsFine() {
        FloatBuffer F = arena(4), M = arena(2), out = Bufs.floats(2);
        assertRejected("maskPool: output out is read-only", () -> pool(F, M, Bufs.floats(2).asReadOnlyBuffer()));
        pool(F.asReadOnlyBuffer(), M.asReadOnlyBuffer(), out);
        FloatBuffer want = Bufs.floats(2);
        pool(F, M, want);
        assertEquals(want.get(0), out.get(0));
        assertEquals(want.get(1), out.get(1));
        assertTrue(out.get(0) != 0, "the read-only inputs were read");
    }

    @Test
    void readOnlyMappedFileAsOutputIsRejectedBeforeNativeCode(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("out.bin");
        Files.write(file, new byte[8]);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MappedByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, 8);
            FloatBuffer out = mapped.order(ByteOrder.nativeOrder()).asFloatBuffer();
            assertRejected("output out is read-only", () -> pool(arena(4), arena(2), out));
            IntBuffer labels = mapped.order(ByteOrder.nativeOrder()).asIntBuffer();
            assertRejected("output labels is read-only", () -> CpuKernels.denseProjection(arena(2), 1, 2, 1, arena(1), null, 1,
                    arena(1), 1, 1f, null, labels, null));
        }
        assertEquals(0, Files.readAllBytes(file)[0]);
    }

    @Test
    void nonNativeOrderViewsAreRejected() {
        ByteOrder other = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        FloatBuffer foreign = ByteBuffer.allocateDirect(16).order(other).asFloatBuffer();
        assertRejected("maskPool: F is " + other, () -> pool(foreign, arena(2), Bufs.floats(2)));
        FloatBuffer foreignOut = ByteBuffer.allocateDirect(8).order(other).asFloatBuffer();
        assertRejected("maskPool: out is " + other, () -> pool(arena(4), arena(2), foreignOut));
        IntBuffer foreignLabels = ByteBuffer.allocateDirect(8).order(other).asIntBuffer();
        assertRejected("denseProjection: labels is " + other, () -> CpuKernels.denseProjection(arena(2), 1, 2, 1, arena(1),
                null, 1, arena(1), 1, 1f, null, foreignLabels, null));
    }

    @Test
    void outputsSharingMemoryWithAnotherOperandAreRejected() {
        FloatBuffer all = arena(16);
        // the same buffer as input and output
        FloatBuffer F = slice(all, 0, 4);
        assertRejected("maskPool: output out shares memory with input F", () -> pool(F, arena(2), F));
        // overlapping slices of one arena: out = [3, 5) overlaps F = [0, 4)
        assertRejected("output out shares memory with input F", () -> pool(F, slice(all, 8, 10), slice(all, 3, 5)));
        // an output overlapping the last input only
        assertRejected("output updates shares memory with input v", () -> CpuKernels.slotAttention(slice(all, 0, 2),
                slice(all, 2, 4), slice(all, 4, 6), 1, 1, 2, 1, 1, 1f, 0f, false, slice(all, 5, 6), null));
        // two outputs overlapping each other
        FloatBuffer logits = slice(all, 10, 12);
        assertRejected("output scores shares memory with output logits", () -> CpuKernels.denseProjection(slice(all, 0, 2), 1, 2,
                1, slice(all, 2, 3), null, 1, slice(all, 3, 4), 1, 1f, logits, null, slice(all, 11, 13)));
        // a view at another position of the same memory
        FloatBuffer shifted = all.duplicate().position(2);
        assertRejected("output out shares memory with input M", () -> pool(slice(all, 8, 12), shifted, all.duplicate().position(3)));
    }

    @Test
    void adjacentSlicesOfOneArenaAreFineAndCorrect() {
        FloatBuffer all = arena(8);
        FloatBuffer F = slice(all, 0, 4), M = slice(all, 4, 6), out = slice(all, 6, 8);
        FloatBuffer want = Bufs.floats(2);
        pool(slice(arena(8), 0, 4), slice(arena(8), 4, 6), want);
        pool(F, M, out);
        assertEquals(want.get(0), out.get(0));
        assertEquals(want.get(1), out.get(1));
        // inputs may overlap each other (both only read)
        FloatBuffer o2 = Bufs.floats(2);
        pool(slice(all, 0, 4), slice(all, 2, 4), o2);
        assertTrue(Float.isFinite(o2.get(0)));
    }
}
