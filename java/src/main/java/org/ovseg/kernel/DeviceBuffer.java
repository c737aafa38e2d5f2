package org.ovseg.kernel;

import java.nio.ByteBuffer;

/**
 * Device memory owned by Java: allocated on construction, freed by {@link #close()} (idempotent).
 * Not thread-safe; share it only with external synchronisation.
 */
public final class DeviceBuffer implements AutoCloseable {
    private long address;
    private final long bytes;

    private DeviceBuffer(long address, long bytes) {
        this.address = address;
        this.bytes = bytes;
    }

    /**
     * Allocates {@code bytes} of device memory.
     *
     * @throws IllegalStateException when no CUDA device is usable (the reason is in the message)
     */
    public static DeviceBuffer allocate(long bytes) {
        CudaKernels.requireDevice();
        if (bytes < 0) throw new IllegalArgumentException("DeviceBuffer.allocate: negative size " + bytes);
        long[] ptr = new long[1];
        CudaKernels.check("cudaMalloc", NativeCuda.ovseg_cuda_malloc(ptr, Math.max(bytes, 1)));
        return new DeviceBuffer(ptr[0], bytes);
    }

    /** Allocates and fills from the remaining bytes of a direct host buffer (synchronous). */
    public static DeviceBuffer of(ByteBuffer host) {
        DeviceBuffer d = allocate(host.remaining());
        try {
            d.upload(host, null);
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** @return size in bytes */
    public long bytes() {
        return bytes;
    }

    long address() {
        if (address == 0) throw new IllegalStateException("DeviceBuffer is closed");
        return address;
    }

    /** Copies host bytes in (on {@code stream}, or synchronously when null). */
    public void upload(ByteBuffer host, CudaStream stream) {
        requireDirect(host);
        if (host.remaining() > bytes) throw new IllegalArgumentException("upload: " + host.remaining() + " bytes into " + bytes);
        long s = stream == null ? 0 : stream.handle();
        CudaKernels.check("cudaMemcpy H2D", NativeCuda.ovseg_cuda_memcpy_h2d(address(), host, host.remaining(), s));
        if (stream == null) CudaKernels.check("cudaStreamSynchronize", NativeCuda.ovseg_cuda_stream_synchronize(0));
    }

    /** Copies device bytes out into the remaining space of a direct host buffer. */
    public void download(ByteBuffer host, CudaStream stream) {
        requireDirect(host);
        // The copy writes through the raw address: a read-only (e.g. mapped) buffer would crash the JVM.
        if (host.isReadOnly()) throw new IllegalArgumentException("download: host buffer is read-only");
        long n = Math.min(host.remaining(), bytes);
        long s = stream == null ? 0 : stream.handle();
        CudaKernels.check("cudaMemcpy D2H", NativeCuda.ovseg_cuda_memcpy_d2h(host, address(), n, s));
        if (stream == null) CudaKernels.check("cudaStreamSynchronize", NativeCuda.ovseg_cuda_stream_synchronize(0));
    }

    private static void requireDirect(ByteBuffer b) {
        if (b == null || !b.isDirect()) throw new IllegalArgumentException("host buffer must be direct");
    }

    @Override
    public void close() {
        if (address != 0) {
            NativeCuda.ovseg_cuda_free(address);
            address = 0;
        }
    }
}
