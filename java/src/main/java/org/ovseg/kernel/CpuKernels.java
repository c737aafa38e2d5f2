package org.ovseg.kernel;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Optional;

/**
 * The CPU twins of ovseg's kernels (libovseg_cpu), fp32, on direct native-order buffers read
 * from their current position. Shapes are row-major with batch outermost, exactly as in
 * {@code native/include/ovseg.h}, whose comments hold the full semantics. Outputs must be
 * writable and share no memory with any other operand; a buffer that breaks a rule is an
 * {@link IllegalArgumentException} before any native code runs.
 *
 * <p>Thread-safety: every method may be called from any thread, and concurrent calls run
 * concurrently: each computes on its calling thread plus the native pool workers (sized by
 * {@link #setThreads}) idle at that moment, so a lone call gets the whole pool and simultaneous
 * calls share it. Results do not depend on how many workers a call gets.
 */
public final class CpuKernels {
    private CpuKernels() {}

    /**
     * Deletes a TensorRT object (runtime, engine, execution context, builder, builder config,
     * network, host memory, timing cache) through its virtual destructor, as C++'s
     * {@code delete} would (native/src/trt_delete.cpp); the JavaCPP preset has none that works.
     * A null or null-address pointer is a no-op. The pointer must not be used afterwards.
     */
    public static void deleteTensorRtObject(org.bytedeco.javacpp.Pointer obj) {
        if (obj == null || obj.isNull()) return;
        NativeCpu.ovseg_trt_delete(obj);
    }

    /**
     * @return the kernel table the native kernels dispatched to: "avx512", "avx2" or "generic"
     * @throws IllegalStateException when the environment variable OVSEG_CPU_ISA forces a table
     *     this CPU lacks (the message says which); the kernels then refuse to run
     */
    public static String isa() {
        String isa = NativeCpu.ovseg_cpu_isa();
        if (isa == null) throw new IllegalStateException("CPU kernels unusable: " + NativeCpu.ovseg_cpu_isa_error());
        return isa;
    }

    /** @return why OVSEG_CPU_ISA cannot be honoured on this CPU, or empty when the kernels are usable */
    public static Optional<String> isaUnavailableReason() {
        return Optional.ofNullable(NativeCpu.ovseg_cpu_isa_error());
    }

    /** @return worker threads the native kernels use */
    public static int threads() {
        return NativeCpu.ovseg_cpu_get_threads();
    }

    /**
     * Sets the process-wide number of native worker threads.
     *
     * @param n threads; 0 or less restores the default (all hardware threads)
     */
    public static void setThreads(int n) {
        Checks.status("setThreads", NativeCpu.ovseg_cpu_set_threads(n));
    }

    /**
     * Folds CLIP's attention-pool value projection (V[Dv,D], bv[Dv]) and output projection
     * (C[E,Dv], bc[E]) into W[E,D] = C·V and b[E] = C·bv + bc.
     *
     * @param bc may be null (zero)
     * @param bv may be null (zero)
     */
    public static void foldProjection(FloatBuffer C, FloatBuffer bc, FloatBuffer V, FloatBuffer bv,
            int E, int Dv, int D, FloatBuffer W, FloatBuffer b) {
        String op = "foldProjection";
        Checks.sizes(op, E, Dv, D);
        new Operands(op).in("C", C, Checks.product(op, E, Dv)).optionalIn("bc", bc, E)
                .in("V", V, Checks.product(op, Dv, D)).optionalIn("bv", bv, Dv)
                .out("W", W, Checks.product(op, E, D)).out("b", b, E);
        Checks.status(op, NativeCpu.ovseg_fold_projection(C, bc, V, bv, E, Dv, D, W, b));
    }

    /**
     * MaskCLIP's dense projection: logit[b,k,p] = tau·⟨T_k, normalize(W f_p + bias)⟩ for
     * F[B,P,D], W[E,D], bias[E], T[K,E]. Outputs: logits[B,K,P], and/or the fused per-pixel
     * argmax labels[B,P] (first maximum; -1 when K = 0) and max scores[B,P]. Pass null for the
     * outputs not wanted (at least one is required); without logits the [K,P] tensor is never
     * materialised.
     *
     * @param bias may be null (zero)
     */
    public static void denseProjection(FloatBuffer F, int B, int P, int D, FloatBuffer W,
            FloatBuffer bias, int E, FloatBuffer T, int K, float tau, FloatBuffer logits,
            IntBuffer labels, FloatBuffer scores) {
        String op = "denseProjection";
        Checks.sizes(op, B, P, D, E, K);
        if (logits == null && labels == null && scores == null) {
            throw new IllegalArgumentException(op + ": no output requested");
        }
        new Operands(op).in("F", F, Checks.product(op, B, P, D)).in("W", W, Checks.product(op, E, D))
                .optionalIn("bias", bias, E).in("T", T, Checks.product(op, K, E))
                .optionalOut("logits", logits, Checks.product(op, B, K, P))
                .optionalOut("labels", labels, Checks.product(op, B, P))
                .optionalOut("scores", scores, Checks.product(op, B, P));
        Checks.status(op, NativeCpu.ovseg_cpu_dense_projection(
                F, B, P, D, W, bias, E, T, K, tau, logits, labels, scores));
    }

    /**
     * Pixel-adaptive mask refinement (PAMR) in place on {@code mask} [K,H,W], guided by
     * {@code image} [C,H,W]: neighbour affinities from the image at each dilation (replicate
     * border), softmax-normalised, then {@code iterations} rounds of affinity-weighted
     * neighbour averaging (see native/include/ovseg.h, ovseg_cpu_pamr).
     */
    public static void pamr(FloatBuffer image, int C, int H, int W, FloatBuffer mask, int K, int[] dilations, int iterations) {
        String op = "pamr";
        Checks.sizes(op, C, H, W, K);
        if (dilations == null || dilations.length == 0) throw new IllegalArgumentException(op + ": no dilations");
        for (int d : dilations) if (d < 1) throw new IllegalArgumentException(op + ": dilation " + d + " < 1");
        if (C == 0) throw new IllegalArgumentException(op + ": the image has no channels");
        if (iterations < 0) throw new IllegalArgumentException(op + ": iterations " + iterations + " < 0");
        Checks.buffer(op, "image", image, Checks.product(op, C, H, W));
        Checks.buffer(op, "mask", mask, Checks.product(op, K, H, W));
        java.nio.IntBuffer dil = java.nio.ByteBuffer.allocateDirect(4 * dilations.length).order(java.nio.ByteOrder.nativeOrder()).asIntBuffer();
        dil.put(dilations).flip();
        Checks.status(op, NativeCpu.ovseg_cpu_pamr(image, C, H, W, mask, K, dil, dilations.length, iterations));
    }

    /**
     * Mask pooling: out[b,q,:] = Σ_p m[q,p]·F[:,p] / (Σ_p m[q,p] + 1e-8) for F[B,C,HW] and mask
     * logits M[B,Q,HW], optionally L2-normalising each output row. out is [B,Q,C]. Hard masks
     * cost in proportion to the pixels they cover.
     */
    public static void maskPool(FloatBuffer F, FloatBuffer M, int B, int C, int Q, int HW,
            MaskMode mode, boolean normalize, FloatBuffer out) {
        String op = "maskPool";
        Checks.sizes(op, B, C, Q, HW);
        if (mode == null) throw new IllegalArgumentException(op + ": mode is null");
        new Operands(op).in("F", F, Checks.product(op, B, C, HW)).in("M", M, Checks.product(op, B, Q, HW))
                .out("out", out, Checks.product(op, B, Q, C));
        Checks.status(op, NativeCpu.ovseg_cpu_mask_pool(F, M, B, C, Q, HW, mode.code, normalize ? 1 : 0, out));
    }

    /**
     * One slot-attention binding step: a = softmax over slots of scale·⟨q_s, k_n⟩ (or its
     * one-hot argmax when {@code hard}), updates[s] = Σ_n a[n,s]·v_n / (Σ_n a[n,s] + eps).
     * q[B,S,d], k[B,N,d], v[B,N,dv]; updates[B,S,dv]; assign[B,N,S] may be null.
     *
     * @param scale logit scale; 0 or less means 1/√d
     */
    public static void slotAttention(FloatBuffer q, FloatBuffer k, FloatBuffer v, int B, int S,
            int N, int d, int dv, float scale, float eps, boolean hard, FloatBuffer updates,
            FloatBuffer assign) {
        String op = "slotAttention";
        Checks.sizes(op, B, S, N, d, dv);
        if (!(eps >= 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException(op + ": eps must be >= 0 and scale finite");
        }
        new Operands(op).in("q", q, Checks.product(op, B, S, d)).in("k", k, Checks.product(op, B, N, d))
                .in("v", v, Checks.product(op, B, N, dv)).out("updates", updates, Checks.product(op, B, S, dv))
                .optionalOut("assign", assign, Checks.product(op, B, N, S));
        Checks.status(op, NativeCpu.ovseg_cpu_slot_attention(
                q, k, v, B, S, N, d, dv, scale, eps, hard ? 1 : 0, updates, assign));
    }

    /**
     * Plain matrix product on the pool: C[M,N] = A[M,K]·B[K,N], or A·B^T for B[N,K] when
     * {@code bTransposed}. C is overwritten (zeros when K = 0) and may not overlap A or B.
     */
    public static void matmul(FloatBuffer A, FloatBuffer B, int M, int N, int K, boolean bTransposed,
            FloatBuffer C) {
        String op = "matmul";
        Checks.sizes(op, M, N, K);
        new Operands(op).in("A", A, Checks.product(op, M, K)).in("B", B, Checks.product(op, K, N))
                .out("C", C, Checks.product(op, M, N));
        Checks.status(op, NativeCpu.ovseg_cpu_matmul(A, B, M, N, K, bTransposed ? 1 : 0, C));
    }
}
