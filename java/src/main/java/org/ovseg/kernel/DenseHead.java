package org.ovseg.kernel;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * MaskCLIP's dense head prepared once per model: W[E,D] is packed for the CPU kernels when the
 * head is made, so each {@link #project} packs only the text embeddings; same results as
 * {@link CpuKernels#denseProjection} with the same W and bias. Holds native memory (E·D floats)
 * until {@link #close()}. Thread-safe: projections may run concurrently; close waits for them.
 */
public final class DenseHead implements AutoCloseable {
    private final int embedDim, width;
    // Projections share the read side; close takes the write side, so the native head is never
    // freed under a running projection.
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle;

    private DenseHead(long handle, int embedDim, int width) {
        this.handle = handle;
        this.embedDim = embedDim;
        this.width = width;
    }

    /**
     * Packs W[E,D] (and copies bias[E]); the buffers may be reused afterwards.
     *
     * @param bias may be null (zero)
     * @throws IllegalArgumentException for bad sizes or buffers
     * @throws KernelException when the native side fails (e.g. out of memory, unsupported CPU)
     */
    public static DenseHead prepare(FloatBuffer W, FloatBuffer bias, int E, int D) {
        String op = "DenseHead.prepare";
        Checks.sizes(op, E, D);
        new Operands(op).in("W", W, Checks.product(op, E, D)).optionalIn("bias", bias, E);
        long[] out = new long[1];
        Checks.status(op, NativeCpu.ovseg_cpu_dense_head_create(W, bias, E, D, out));
        return new DenseHead(out[0], E, D);
    }

    /** @return E, the embedding width the head projects to */
    public int embedDim() {
        return embedDim;
    }

    /** @return D, the feature width the head takes */
    public int width() {
        return width;
    }

    /**
     * logit[b,k,p] = tau·⟨T_k, normalize(W f_p + bias)⟩ for F[B,P,D] and T[K,E]; outputs as
     * {@link CpuKernels#denseProjection} (null for those not wanted, at least one).
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public void project(FloatBuffer F, int B, int P, FloatBuffer T, int K, float tau, FloatBuffer logits, IntBuffer labels,
            FloatBuffer scores) {
        String op = "DenseHead.project";
        Checks.sizes(op, B, P, K);
        if (logits == null && labels == null && scores == null) throw new IllegalArgumentException(op + ": no output requested");
        new Operands(op).in("F", F, Checks.product(op, B, P, width)).in("T", T, Checks.product(op, K, embedDim))
                .optionalOut("logits", logits, Checks.product(op, B, K, P))
                .optionalOut("labels", labels, Checks.product(op, B, P))
                .optionalOut("scores", scores, Checks.product(op, B, P));
        lock.readLock().lock();
        try {
            if (handle == 0) throw new IllegalStateException(op + ": the head is closed");
            Checks.status(op, NativeCpu.ovseg_cpu_dense_head_project(handle, F, B, P, width, T, K, tau, logits, labels, scores));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Frees the packed weights; idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (handle != 0) {
                NativeCpu.ovseg_cpu_dense_head_free(handle);
                handle = 0;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
