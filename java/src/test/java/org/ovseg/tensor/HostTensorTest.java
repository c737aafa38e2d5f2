package org.ovseg.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class HostTensorTest {

    @Test
    void elementTypesCarryOnnxCodesAndSizes() {
        assertEquals(1, ElementType.FLOAT32.onnxCode());
        assertEquals(10, ElementType.FLOAT16.onnxCode());
        assertEquals(16, ElementType.BFLOAT16.onnxCode());
        assertEquals(6, ElementType.INT32.onnxCode());
        assertEquals(7, ElementType.INT64.onnxCode());
        assertEquals(8, ElementType.INT64.bytes());
        assertEquals(2, ElementType.BFLOAT16.bytes());
        for (ElementType t : ElementType.values()) {
            assertEquals(t, ElementType.fromOnnxCode(t.onnxCode()).orElseThrow());
            assertEquals(t, ElementType.parse(t.jsonName()).orElseThrow());
        }
        assertTrue(ElementType.fromOnnxCode(9).isEmpty());
        assertEquals("BOOL", ElementType.onnxTypeName(9));
        assertTrue(ElementType.parse("float64").isEmpty());
    }

    @Test
    void zerosHasShapeSizeAndZeroedNativeOrderMemory() {
        try (HostTensor t = HostTensor.zeros(ElementType.FLOAT32, 2, 3, 4)) {
            assertArrayEquals(new long[] {2, 3, 4}, t.shape());
            assertEquals(24, t.elementCount());
            assertEquals(96, t.byteSize());
            assertEquals(3, t.rank());
            assertTrue(t.byteBuffer().isDirect());
            assertEquals(ByteOrder.nativeOrder(), t.byteBuffer().order());
            assertEquals(96, t.byteBuffer().remaining());
            for (float f : t.toFloatArray()) assertEquals(0f, f);
        }
    }

    @Test
    void factoriesCopyValuesAndShape() {
        long[] shape = {2, 2};
        float[] values = {1, 2, 3, 4};
        try (HostTensor t = HostTensor.of(values, shape)) {
            values[0] = 99;
            shape[0] = 7;
            assertArrayEquals(new float[] {1, 2, 3, 4}, t.toFloatArray());
            assertArrayEquals(new long[] {2, 2}, t.shape());
            t.shape()[0] = 5; // the accessor hands out a copy
            assertEquals(2, t.dim(0));
        }
        try (HostTensor i = HostTensor.of(new int[] {5, -6}, 2); HostTensor l = HostTensor.of(new long[] {1L << 40}, 1, 1)) {
            assertArrayEquals(new int[] {5, -6}, i.toIntArray());
            assertArrayEquals(new long[] {1L << 40}, l.toLongArray());
            assertEquals(ElementType.INT64, l.type());
        }
    }

    @Test
    void viewsShareMemoryAndAreIndependentCursors() {
        try (HostTensor t = HostTensor.zeros(ElementType.FLOAT32, 4)) {
            t.floatBuffer().put(2, 7.5f);
            assertEquals(7.5f, t.floatBuffer().get(2));
            var a = t.floatBuffer();
            a.get();
            assertEquals(0, t.floatBuffer().position());
        }
    }

    @Test
    void wrongLengthOrTypedViewIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> HostTensor.of(new float[3], 2, 2));
        assertThrows(IllegalArgumentException.class, () -> HostTensor.zeros(ElementType.FLOAT32, 2, -1));
        try (HostTensor t = HostTensor.zeros(ElementType.INT64, 2)) {
            assertThrows(IllegalStateException.class, t::floatBuffer);
            assertThrows(IllegalStateException.class, t::shortBuffer);
        }
        try (HostTensor h = HostTensor.zeros(ElementType.FLOAT16, 3)) {
            assertEquals(3, h.shortBuffer().remaining());
        }
    }

    @Test
    void zeroElementTensorIsValid() {
        try (HostTensor t = HostTensor.zeros(ElementType.FLOAT32, 0, 5)) {
            assertEquals(0, t.elementCount());
            assertEquals(0, t.byteBuffer().remaining());
        }
    }

    @Test
    void closeIsIdempotentAndDataAccessThrowsAfterwards() {
        HostTensor t = HostTensor.of(new float[] {1, 2}, 2);
        assertFalse(t.isClosed());
        t.close();
        t.close();
        assertTrue(t.isClosed());
        assertThrows(IllegalStateException.class, t::byteBuffer);
        assertThrows(IllegalStateException.class, t::floatBuffer);
        assertThrows(IllegalStateException.class, t::toFloatArray);
        // Metadata stays readable for error messages.
        assertEquals("FLOAT32 [2]", t.describe());
        assertTrue(t.toString().contains("closed"));
    }

    @Test
    void shapesHelpers() {
        assertEquals("[1,3,-1,-1]", Shapes.toString(new long[] {1, 3, -1, -1}));
        assertTrue(Shapes.fits(new long[] {1, 3, -1, -1}, new long[] {1, 3, 224, 320}));
        assertFalse(Shapes.fits(new long[] {1, 3, -1, -1}, new long[] {1, 4, 224, 320}));
        assertFalse(Shapes.fits(new long[] {1, 3, -1, -1}, new long[] {1, 3}));
        assertThrows(ArithmeticException.class, () -> Shapes.elementCount(new long[] {1L << 40, 1L << 40}));
    }
}
