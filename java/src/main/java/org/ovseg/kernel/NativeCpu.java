package org.ovseg.kernel;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of libovseg_cpu (native/include/ovseg.h). Raw and unchecked: use
 * {@link CpuKernels}, which validates shapes and turns status codes into exceptions. Buffers
 * must be direct; their position is honoured.
 */
@Platform(value = "linux-x86_64", include = "ovseg.h", link = "ovseg_cpu")
final class NativeCpu {
    static {
        Loader.load();
    }

    private NativeCpu() {}

    static native @Cast("const char*") String ovseg_status_string(int status);

    static native @Cast("const char*") String ovseg_cpu_isa();

    static native @Cast("const char*") String ovseg_cpu_isa_error();
    static native void ovseg_trt_delete(Pointer obj);

    static native int ovseg_cpu_set_threads(int n);

    static native int ovseg_cpu_get_threads();

    static native int ovseg_fold_projection(
            FloatBuffer C, FloatBuffer bc, FloatBuffer V, FloatBuffer bv,
            @Cast("int64_t") long E, @Cast("int64_t") long Dv, @Cast("int64_t") long D,
            FloatBuffer W, FloatBuffer b);

    static native int ovseg_cpu_dense_projection(
            FloatBuffer F, @Cast("int64_t") long B, @Cast("int64_t") long P, @Cast("int64_t") long D,
            FloatBuffer W, FloatBuffer bias, @Cast("int64_t") long E,
            FloatBuffer T, @Cast("int64_t") long K, float tau,
            FloatBuffer logits, @Cast("int32_t*") IntBuffer labels, FloatBuffer scores);

    static native int ovseg_cpu_dense_head_create(FloatBuffer W, FloatBuffer bias, @Cast("int64_t") long E,
            @Cast("int64_t") long D, @Cast("ovseg_dense_head**") long[] out);

    static native int ovseg_cpu_dense_head_project(@Cast("const ovseg_dense_head*") long head,
            FloatBuffer F, @Cast("int64_t") long B, @Cast("int64_t") long P, @Cast("int64_t") long D,
            FloatBuffer T, @Cast("int64_t") long K, float tau,
            FloatBuffer logits, @Cast("int32_t*") IntBuffer labels, FloatBuffer scores);

    static native void ovseg_cpu_dense_head_free(@Cast("ovseg_dense_head*") long head);

    static native int ovseg_cpu_mask_pool(
            FloatBuffer F, FloatBuffer M, @Cast("int64_t") long B, @Cast("int64_t") long C,
            @Cast("int64_t") long Q, @Cast("int64_t") long HW, int mode, int normalize,
            FloatBuffer out);

    static native int ovseg_cpu_slot_attention(
            FloatBuffer q, FloatBuffer k, FloatBuffer v, @Cast("int64_t") long B,
            @Cast("int64_t") long S, @Cast("int64_t") long N, @Cast("int64_t") long d,
            @Cast("int64_t") long dv, float scale, float eps, int hard,
            FloatBuffer updates, FloatBuffer assign);

    static native int ovseg_cpu_dense_crf(
            FloatBuffer unary, @Cast("const uint8_t*") ByteBuffer rgb, @Cast("int64_t") long L,
            @Cast("int64_t") long H, @Cast("int64_t") long W, float gaussSxy, float gaussCompat,
            float bilatSxy, float bilatSrgb, float bilatCompat, int iterations, FloatBuffer q);

    static native int ovseg_cpu_pamr(
            FloatBuffer image, @Cast("int64_t") long C, @Cast("int64_t") long H, @Cast("int64_t") long W,
            FloatBuffer mask, @Cast("int64_t") long K, @Cast("const int32_t*") IntBuffer dilations,
            @Cast("int64_t") long nDil, int iterations);

    static native int ovseg_cpu_visual_prompt(
            @Cast("const uint8_t*") ByteBuffer rgb, FloatBuffer cam, @Cast("int64_t") long H,
            @Cast("int64_t") long W, float maskThreshold, int flags,
            @Cast("uint8_t*") ByteBuffer out);

    static native int ovseg_cpu_pil_bicubic(
            @Cast("const uint8_t*") ByteBuffer src, @Cast("int64_t") long H, @Cast("int64_t") long W,
            @Cast("int64_t") long C, @Cast("int64_t") long outH, @Cast("int64_t") long outW,
            @Cast("uint8_t*") ByteBuffer dst);

    static native int ovseg_cpu_matmul(FloatBuffer A, FloatBuffer B, @Cast("int64_t") long M,
            @Cast("int64_t") long N, @Cast("int64_t") long K, int bTransposed, FloatBuffer C);
}
