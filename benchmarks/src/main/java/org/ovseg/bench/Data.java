package org.ovseg.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.SplittableRandom;

/** Deterministic benchmark inputs in direct buffers (and their array copies for the Java loops). */
final class Data {
    private Data() {}

    static float[] uniform(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return a;
    }

    static FloatBuffer direct(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(Math.max(1, a.length) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(a).flip();
        return b;
    }

    static FloatBuffer floats(int n) {
        return ByteBuffer.allocateDirect(Math.max(1, n) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    static IntBuffer ints(int n) {
        return ByteBuffer.allocateDirect(Math.max(1, n) * 4).order(ByteOrder.nativeOrder()).asIntBuffer();
    }

    static void unitRows(float[] a, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            double n = 0;
            for (int c = 0; c < cols; c++) n += a[r * cols + c] * a[r * cols + c];
            float inv = (float) (1 / Math.max(Math.sqrt(n), 1e-12));
            for (int c = 0; c < cols; c++) a[r * cols + c] *= inv;
        }
    }
}
