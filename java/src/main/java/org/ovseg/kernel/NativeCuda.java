package org.ovseg.kernel;

import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of libovseg_cuda. Device pointers and streams travel as {@code long}
 * addresses: they are never dereferenced on the host, and keeping them out of JavaCPP's
 * Pointer class avoids its position arithmetic on handles. The library links cudart statically,
 * so it loads on a machine without a driver and reports the condition through
 * {@code ovseg_cuda_device_count}. Use {@link Device} and {@link CudaKernels}, not this class.
 */
@Platform(value = "linux-x86_64", include = "ovseg.h", link = "ovseg_cuda")
final class NativeCuda {
    static {
        Loader.load();
    }

    private NativeCuda() {}

    static native int ovseg_cuda_compiled();

    static native @Cast("const char*") String ovseg_cuda_last_error();

    static native int ovseg_cuda_runtime_version(int[] version);

    static native int ovseg_cuda_driver_version(int[] version);

    static native int ovseg_cuda_device_count(int[] count);

    static native int ovseg_cuda_device_info(int device, @Cast("char*") byte[] name, int len,
            int[] smMajor, int[] smMinor, @Cast("int64_t*") long[] totalMemory);

    static native int ovseg_cuda_set_device(int device);

    static native int ovseg_cuda_malloc(@Cast("void**") long[] ptr, @Cast("size_t") long bytes);

    static native int ovseg_cuda_free(@Cast("void*") long ptr);

    static native int ovseg_cuda_memcpy_h2d(@Cast("void*") long dst, @Cast("const void*") ByteBuffer src,
            @Cast("size_t") long bytes, @Cast("void*") long stream);

    static native int ovseg_cuda_memcpy_d2h(@Cast("void*") ByteBuffer dst, @Cast("const void*") long src,
            @Cast("size_t") long bytes, @Cast("void*") long stream);

    static native int ovseg_cuda_memset(@Cast("void*") long ptr, int value, @Cast("size_t") long bytes,
            @Cast("void*") long stream);

    static native int ovseg_cuda_stream_create(@Cast("void**") long[] stream);

    static native int ovseg_cuda_stream_destroy(@Cast("void*") long stream);

    static native int ovseg_cuda_stream_synchronize(@Cast("void*") long stream);

    static native int ovseg_cuda_dense_projection(int dtype, @Cast("const void*") long F,
            @Cast("int64_t") long B, @Cast("int64_t") long P, @Cast("int64_t") long D,
            @Cast("const float*") long W, @Cast("const float*") long bias, @Cast("int64_t") long E,
            @Cast("const float*") long T, @Cast("int64_t") long K, float tau,
            @Cast("float*") long logits, @Cast("int32_t*") long labels, @Cast("float*") long scores,
            @Cast("void*") long stream);

    static native int ovseg_cuda_mask_pool(int dtype, @Cast("const void*") long F,
            @Cast("const void*") long M, @Cast("int64_t") long B, @Cast("int64_t") long C,
            @Cast("int64_t") long Q, @Cast("int64_t") long HW, int mode, int normalize,
            @Cast("float*") long out, @Cast("void*") long stream);

    static native int ovseg_cuda_slot_attention(int dtype, @Cast("const void*") long q,
            @Cast("const void*") long k, @Cast("const void*") long v, @Cast("int64_t") long B,
            @Cast("int64_t") long S, @Cast("int64_t") long N, @Cast("int64_t") long d,
            @Cast("int64_t") long dv, float scale, float eps, int hard,
            @Cast("float*") long updates, @Cast("float*") long assign, @Cast("void*") long stream);

    static native int ovseg_cuda_dense_crf(@Cast("const float*") long unary, @Cast("const uint8_t*") long rgb,
            @Cast("int64_t") long L, @Cast("int64_t") long H, @Cast("int64_t") long W, float gaussSxy,
            float gaussCompat, float bilatSxy, float bilatSrgb, float bilatCompat, int iterations,
            @Cast("float*") long q, @Cast("void*") long stream);

    static native int ovseg_cuda_visual_prompt(@Cast("const uint8_t*") long rgb, @Cast("const float*") long cam,
            @Cast("int64_t") long H, @Cast("int64_t") long W, float maskThreshold, int flags,
            @Cast("uint8_t*") long out, @Cast("void*") long stream);

    static native int ovseg_cuda_pamr(@Cast("const float*") long image, @Cast("int64_t") long C, @Cast("int64_t") long H,
            @Cast("int64_t") long W, @Cast("float*") long mask, @Cast("int64_t") long K,
            @Cast("const int32_t*") IntBuffer dilations, @Cast("int64_t") long nDil, int iterations,
            @Cast("void*") long stream);

    static native int ovseg_cuda_pil_bicubic(@Cast("const uint8_t*") long src, @Cast("int64_t") long H,
            @Cast("int64_t") long W, @Cast("int64_t") long C, @Cast("int64_t") long outH, @Cast("int64_t") long outW,
            @Cast("uint8_t*") long dst, @Cast("void*") long stream);
}
