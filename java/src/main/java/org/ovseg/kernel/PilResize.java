package org.ovseg.kernel;

import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;

/**
 * PIL's bicubic resize of 8-bit RGB (Pillow {@code Image.resize(size, BICUBIC)}), by the native
 * twins {@code ovseg_cpu_pil_bicubic} / {@code ovseg_cuda_pil_bicubic} (native/include/ovseg.h
 * states the arithmetic). Bit-identical to Pillow and to {@link org.ovseg.image.PilBicubic}, the
 * pure-Java version: Keys a = −0.5, antialiased when shrinking, 22-bit fixed-point weights,
 * 8-bit rounding after each pass.
 *
 * <p>Thread-safe; stateless.
 */
public final class PilResize {
    private PilResize() {}

    /** Where the resize runs. */
    public enum Target {
        /** libovseg_cpu (the native pool's threads). */
        CPU,
        /** libovseg_cuda on the current device: host arrays in and out, one upload and one download. */
        CUDA
    }

    /**
     * @param rgb interleaved RGB bytes, row-major, width × height
     * @return the resized image, outWidth × outHeight, interleaved RGB (a new array)
     * @throws IllegalArgumentException on non-positive sizes or a wrong array length
     * @throws IllegalStateException when {@code target} is CUDA and no device is usable
     */
    public static byte[] resize(byte[] rgb, int width, int height, int outWidth, int outHeight, Target target) {
        String op = "PilResize";
        Objects.requireNonNull(target, op + ": target is null");
        Objects.requireNonNull(rgb, op + ": rgb is null");
        if (width <= 0 || height <= 0 || outWidth <= 0 || outHeight <= 0) {
            throw new IllegalArgumentException(op + ": sizes must be positive, are " + width + "x" + height + " -> " + outWidth + "x" + outHeight);
        }
        long in = Checks.product(op, width, height, 3), out = Checks.product(op, outWidth, outHeight, 3);
        if (rgb.length != in) throw new IllegalArgumentException(op + ": expected " + in + " bytes, got " + rgb.length);
        if (out > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(op + ": output too large for a Java array");
        byte[] result = new byte[(int) out];
        // malloc'd and freed here (direct buffers return their memory only after a GC)
        try (BytePointer src = new BytePointer(rgb); BytePointer dst = new BytePointer(out)) {
            if (target == Target.CUDA) {
                try (DeviceBuffer ds = DeviceBuffer.of(src.asByteBuffer()); DeviceBuffer dd = DeviceBuffer.allocate(out);
                        CudaStream stream = CudaStream.create()) {
                    CudaKernels.pilBicubic(ds, height, width, outHeight, outWidth, dd, stream);
                    stream.synchronize();
                    dd.download(dst.asByteBuffer(), null);
                }
            } else {
                Checks.status(op, NativeCpu.ovseg_cpu_pil_bicubic(src.asByteBuffer(), height, width, 3, outHeight, outWidth,
                        dst.asByteBuffer()));
            }
            dst.get(result);
        }
        return result;
    }

    /** {@link #resize(byte[], int, int, int, int, Target)} on the CPU. */
    public static byte[] resize(byte[] rgb, int width, int height, int outWidth, int outHeight) {
        return resize(rgb, width, height, outWidth, outHeight, Target.CPU);
    }
}
