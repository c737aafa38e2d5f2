package org.ovseg.kernel;

/**
 * The CUDA kernels, on device buffers, with the same semantics as {@link CpuKernels}. The
 * activation inputs may be fp32, fp16 or bf16 ({@link DType}); parameters and outputs are fp32.
 * Launches are asynchronous on the given stream (null: the legacy default stream).
 *
 * <p>Every method throws {@link IllegalStateException} with the probe's reason when no CUDA
 * device is usable. Thread-safety: the kernels themselves are re-entrant; buffers and streams
 * are not, so give each worker its own.
 */
public final class CudaKernels {
    private CudaKernels() {}

    static void requireDevice() {
        if (Device.cuda().isEmpty()) {
            throw new IllegalStateException("CUDA is not available: " + Device.cudaUnavailableReason());
        }
    }

    static void check(String op, int rc) {
        if (rc != 0) {
            String detail = NativeCpu.ovseg_status_string(rc);
            String last = NativeCuda.ovseg_cuda_last_error();
            throw new KernelException(op, rc, last == null || last.isEmpty() ? detail : detail + ": " + last);
        }
    }

    private static void fits(String op, String name, DeviceBuffer b, long elements, int elementBytes) {
        if (b == null) {
            if (elements == 0) return;
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        long need = Math.multiplyExact(elements, elementBytes);
        if (b.bytes() < need) throw new IllegalArgumentException(op + ": " + name + " has " + b.bytes() + " bytes, needs " + need);
    }

    private static long addr(DeviceBuffer b) {
        return b == null ? 0 : b.address();
    }

    private static long stream(CudaStream s) {
        return s == null ? 0 : s.handle();
    }

    /** Dense projection; see {@link CpuKernels#denseProjection}. F is in {@code dtype}. */
    public static void denseProjection(DType dtype, DeviceBuffer F, int B, int P, int D, DeviceBuffer W,
            DeviceBuffer bias, int E, DeviceBuffer T, int K, float tau, DeviceBuffer logits,
            DeviceBuffer labels, DeviceBuffer scores, CudaStream stream) {
        String op = "cuda denseProjection";
        requireDevice();
        Checks.sizes(op, B, P, D, E, K);
        if (logits == null && labels == null && scores == null) throw new IllegalArgumentException(op + ": no output requested");
        fits(op, "F", F, Checks.product(op, B, P, D), dtype.bytes());
        fits(op, "W", W, Checks.product(op, E, D), 4);
        if (bias != null) fits(op, "bias", bias, E, 4);
        fits(op, "T", T, Checks.product(op, K, E), 4);
        if (logits != null) fits(op, "logits", logits, Checks.product(op, B, K, P), 4);
        if (labels != null) fits(op, "labels", labels, Checks.product(op, B, P), 4);
        if (scores != null) fits(op, "scores", scores, Checks.product(op, B, P), 4);
        check(op, NativeCuda.ovseg_cuda_dense_projection(dtype.code, addr(F), B, P, D, addr(W), addr(bias), E,
                addr(T), K, tau, addr(logits), addr(labels), addr(scores), stream(stream)));
    }

    /** Mask pooling; see {@link CpuKernels#maskPool}. F and M are in {@code dtype}. */
    public static void maskPool(DType dtype, DeviceBuffer F, DeviceBuffer M, int B, int C, int Q, int HW,
            MaskMode mode, boolean normalize, DeviceBuffer out, CudaStream stream) {
        String op = "cuda maskPool";
        requireDevice();
        Checks.sizes(op, B, C, Q, HW);
        fits(op, "F", F, Checks.product(op, B, C, HW), dtype.bytes());
        fits(op, "M", M, Checks.product(op, B, Q, HW), dtype.bytes());
        fits(op, "out", out, Checks.product(op, B, Q, C), 4);
        check(op, NativeCuda.ovseg_cuda_mask_pool(dtype.code, addr(F), addr(M), B, C, Q, HW, mode.code,
                normalize ? 1 : 0, addr(out), stream(stream)));
    }

    /** Slot attention; see {@link CpuKernels#slotAttention}. q, k, v are in {@code dtype}; S ≤ 64. */
    public static void slotAttention(DType dtype, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, int B, int S,
            int N, int d, int dv, float scale, float eps, boolean hard, DeviceBuffer updates,
            DeviceBuffer assign, CudaStream stream) {
        String op = "cuda slotAttention";
        requireDevice();
        Checks.sizes(op, B, S, N, d, dv);
        fits(op, "q", q, Checks.product(op, B, S, d), dtype.bytes());
        fits(op, "k", k, Checks.product(op, B, N, d), dtype.bytes());
        fits(op, "v", v, Checks.product(op, B, N, dv), dtype.bytes());
        fits(op, "updates", updates, Checks.product(op, B, S, dv), 4);
        if (assign != null) fits(op, "assign", assign, Checks.product(op, B, N, S), 4);
        check(op, NativeCuda.ovseg_cuda_slot_attention(dtype.code, addr(q), addr(k), addr(v), B, S, N, d, dv,
                scale, eps, hard ? 1 : 0, addr(updates), addr(assign), stream(stream)));
    }
}
