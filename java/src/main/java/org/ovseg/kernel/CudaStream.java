package org.ovseg.kernel;

/** A CUDA stream owned by Java; {@link #close()} destroys it (idempotent). Not thread-safe. */
public final class CudaStream implements AutoCloseable {
    private long handle;

    private CudaStream(long handle) {
        this.handle = handle;
    }

    /** @throws IllegalStateException when no CUDA device is usable */
    public static CudaStream create() {
        CudaKernels.requireDevice();
        long[] s = new long[1];
        CudaKernels.check("cudaStreamCreate", NativeCuda.ovseg_cuda_stream_create(s));
        return new CudaStream(s[0]);
    }

    long handle() {
        if (handle == 0) throw new IllegalStateException("CudaStream is closed");
        return handle;
    }

    /** Blocks until all work queued on this stream is done. */
    public void synchronize() {
        CudaKernels.check("cudaStreamSynchronize", NativeCuda.ovseg_cuda_stream_synchronize(handle()));
    }

    @Override
    public void close() {
        if (handle != 0) {
            NativeCuda.ovseg_cuda_stream_destroy(handle);
            handle = 0;
        }
    }
}
