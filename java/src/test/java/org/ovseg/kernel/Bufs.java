package org.ovseg.kernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.SplittableRandom;

/** Test helpers: direct buffers and random data. */
final class Bufs {
    private Bufs() {}

    static FloatBuffer direct(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(Math.max(1, a.length) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(a).flip();
        return b;
    }

    static FloatBuffer floats(int n) {
        return ByteBuffer.allocateDirect(Math.max(1, n) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer().limit(n);
    }

    static IntBuffer ints(int n) {
        return ByteBuffer.allocateDirect(Math.max(1, n) * 4).order(ByteOrder.nativeOrder()).asIntBuffer().limit(n);
    }

    static float[] toArray(FloatBuffer b) {
        float[] a = new float[b.limit()];
        b.duplicate().position(0).get(a);
        return a;
    }

    static float[] gaussian(SplittableRandom rng, int n, double sigma) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller; SplittableRandom has no nextGaussian on Java 17
            double u = 1 - rng.nextDouble(), v = rng.nextDouble();
            a[i] = (float) (sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        }
        return a;
    }

    static void unitRows(float[] a, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            double n = 0;
            for (int c = 0; c < cols; c++) n += a[r * cols + c] * a[r * cols + c];
            n = Math.sqrt(n);
            for (int c = 0; c < cols; c++) a[r * cols + c] /= n == 0 ? 1 : n;
        }
    }
}
