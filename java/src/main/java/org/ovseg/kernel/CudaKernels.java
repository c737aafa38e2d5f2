package org.ovseg.kernel;

import java.util.Objects;
import java.util.Set;

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

    /**
     * Dense CRF marginals; see {@link DenseCrf#marginals} (same update, same checks). unary
     * [L,H,W] fp32, rgb [H,W,3] unsigned bytes, q [L,H,W] fp32, all on the device. The lattice is
     * built on the host: with the bilateral term on, the call reads rgb back and synchronises the
     * stream once before queueing the iterations. Marginals within 1e-4 of the CPU twin.
     */
    public static void denseCrf(DeviceBuffer unary, DeviceBuffer rgb, int L, int H, int W, DenseCrf.Params p,
            DeviceBuffer q, CudaStream stream) {
        String op = "cuda denseCrf";
        requireDevice();
        Objects.requireNonNull(p, op + ": params is null");
        Checks.sizes(op, L, H, W);
        long n = Checks.product(op, L, H, W);
        fits(op, "unary", unary, n, 4);
        fits(op, "rgb", rgb, n == 0 ? 0 : Checks.product(op, H, W, 3), 1);
        fits(op, "q", q, n, 4);
        check(op, NativeCuda.ovseg_cuda_dense_crf(addr(unary), addr(rgb), L, H, W, p.gaussSxy(), p.gaussCompat(),
                p.bilatSxy(), p.bilatSrgb(), p.bilatCompat(), p.iterations(), addr(q), stream(stream)));
    }

    /**
     * Visual prompt; see {@link VisualPrompt#apply} (bit-identical output). rgb and out [H,W,3]
     * unsigned bytes, cam [H,W] fp32, on the device; {@code out} may be {@code rgb} (in place).
     * The call reads cam back and synchronises the stream once (the Σcam test and the shapes run
     * on the host).
     */
    public static void visualPrompt(DeviceBuffer rgb, DeviceBuffer cam, int H, int W, float threshold,
            Set<VisualPrompt.Effect> effects, DeviceBuffer out, CudaStream stream) {
        String op = "cuda visualPrompt";
        requireDevice();
        Objects.requireNonNull(effects, op + ": effects is null");
        Checks.sizes(op, H, W);
        long hw = Checks.product(op, H, W);
        fits(op, "rgb", rgb, Checks.product(op, hw, 3), 1);
        fits(op, "cam", cam, hw, 4);
        fits(op, "out", out, Checks.product(op, hw, 3), 1);
        int flags = 0;
        for (VisualPrompt.Effect e : effects) flags |= Objects.requireNonNull(e, op + ": null effect").flag;
        check(op, NativeCuda.ovseg_cuda_visual_prompt(addr(rgb), addr(cam), H, W, threshold, flags, addr(out),
                stream(stream)));
    }

    /**
     * PIL's bicubic resize on the device; see {@link PilResize} (bit-identical output). src
     * [H,W,3] and dst [outH,outW,3] unsigned bytes on the device.
     */
    public static void pilBicubic(DeviceBuffer src, int H, int W, int outH, int outW, DeviceBuffer dst, CudaStream stream) {
        String op = "cuda pilBicubic";
        requireDevice();
        Checks.sizes(op, H, W, outH, outW);
        fits(op, "src", src, Checks.product(op, H, W, 3), 1);
        fits(op, "dst", dst, Checks.product(op, outH, outW, 3), 1);
        check(op, NativeCuda.ovseg_cuda_pil_bicubic(addr(src), H, W, 3, outH, outW, addr(dst), stream(stream)));
    }

    /**
     * PAMR on the device; see {@link CpuKernels#pamr}. image [C,H,W] and mask [K,H,W] are fp32
     * device buffers, the mask refined in place; at most 8 dilations.
     */
    public static void pamr(DeviceBuffer image, int C, int H, int W, DeviceBuffer mask, int K, int[] dilations, int iterations,
            CudaStream stream) {
        String op = "cuda pamr";
        requireDevice();
        Checks.sizes(op, C, H, W, K);
        if (dilations == null || dilations.length == 0) throw new IllegalArgumentException(op + ": no dilations");
        if (iterations < 0) throw new IllegalArgumentException(op + ": iterations " + iterations + " < 0");
        fits(op, "image", image, Checks.product(op, C, H, W), 4);
        fits(op, "mask", mask, Checks.product(op, K, H, W), 4);
        java.nio.IntBuffer dil = java.nio.ByteBuffer.allocateDirect(4 * dilations.length).order(java.nio.ByteOrder.nativeOrder()).asIntBuffer();
        dil.put(dilations).flip();
        check(op, NativeCuda.ovseg_cuda_pamr(addr(image), C, H, W, addr(mask), K, dil, dilations.length, iterations, stream(stream)));
    }
}
