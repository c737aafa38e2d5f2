package org.ovseg.pipeline.odise;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.ovseg.kernel.DenseHead;

/**
 * Mask2Former's semantic sum semantic[k,p] = Σ_q probs[q,k]·σ_q[p] over blocks of image rows, on the
 * native dense-projection GEMM: the block's sigmoid values, pixel-major [P, Q], go through an identity
 * head (z_p = σ_p exactly, since every product is by 1 or 0) and the class weights T[k] = probs[·,k].
 * The kernel divides z_p by max(‖z_p‖, 1e-12) before the second product; multiplying its results by
 * that same factor undoes it to float rounding (a few ulps), and leaves the first-maximum argmax
 * unchanged because the factor is positive per pixel. The identity product costs Q² per pixel against
 * the sum's Q·K, which the kernel's blocking repays many times over a Java loop.
 *
 * <p>Holds native memory (the packed identity) until {@link #close()}; its buffers are one block's
 * worth, so nothing of size K×H×W exists unless the caller passes a semantic array.
 */
final class SemanticSum implements AutoCloseable {
    /** Pixels per block: the kernel's 64-row tiles split evenly over its threads, ~3 MB of input per block at Q = 100. */
    static final int BLOCK_PIXELS = 8192;
    private static final float NORM_FLOOR = 1e-12f; // the kernel's (dense_projection.cpp)
    private static final int TRANSPOSE_CHUNK = 64;

    private final int Q, K, H, W, blockRows;
    private final DenseHead head;
    private final float[] f, scale;
    private final FloatBuffer fBuf, tBuf, scoreBuf, logitBuf;
    private final IntBuffer labelBuf;

    private SemanticSum(int Q, int K, int H, int W, int blockRows, DenseHead head, FloatBuffer tBuf, boolean keepSemantic) {
        this.Q = Q;
        this.K = K;
        this.H = H;
        this.W = W;
        this.blockRows = blockRows;
        this.head = head;
        this.tBuf = tBuf;
        int P = blockRows * W;
        this.f = new float[P * Q];
        this.scale = new float[P];
        this.fBuf = head == null ? null : direct(P * Q);
        this.scoreBuf = head == null ? null : direct(P);
        this.labelBuf = head == null ? null : ByteBuffer.allocateDirect(P * 4).order(ByteOrder.nativeOrder()).asIntBuffer();
        this.logitBuf = head == null || !keepSemantic ? null : direct(K * P);
    }

    /**
     * @param probs [Q, K+1] class probabilities (void last, not summed)
     * @param blockRows image rows per block; 0 picks about {@link #BLOCK_PIXELS} pixels
     * @param keepSemantic whether {@link #finish} will be given a semantic array to fill
     */
    static SemanticSum open(float[] probs, int Q, int K, int H, int W, int blockRows, boolean keepSemantic) {
        int rows = Math.max(1, Math.min(Math.max(H, 1), blockRows > 0 ? blockRows : BLOCK_PIXELS / Math.max(W, 1)));
        if (Q == 0 || K == 0 || W == 0) return new SemanticSum(Q, K, H, W, rows, null, null, keepSemantic);
        FloatBuffer eye = direct(Q * Q);
        for (int q = 0; q < Q; q++) eye.put(q * Q + q, 1f);
        FloatBuffer t = direct(K * Q);
        for (int k = 0; k < K; k++) for (int q = 0; q < Q; q++) t.put(k * Q + q, probs[q * (K + 1) + k]);
        return new SemanticSum(Q, K, H, W, rows, DenseHead.prepare(eye, null, Q, Q), t, keepSemantic);
    }

    int blockRows() {
        return blockRows;
    }

    /**
     * Takes row {@code r} of the current block: the mask logits {@code m[q][0..W)} at the output size.
     * Their sigmoids land pixel-major in {@link #sigmoids()} at {@code (r·W + x)·Q + q}.
     */
    void addRow(int r, float[][] m) {
        if (Q == 0) return;
        int p0 = r * W;
        // The sigmoid is applied while transposing, in column chunks so the strided writes stay in cache.
        for (int x0 = 0; x0 < W; x0 += TRANSPOSE_CHUNK) {
            int x1 = Math.min(W, x0 + TRANSPOSE_CHUNK);
            for (int q = 0; q < Q; q++) {
                float[] row = m[q];
                for (int x = x0; x < x1; x++) f[(p0 + x) * Q + q] = PanopticInference.sigmoid(row[x]);
            }
        }
        if (head == null) return;
        for (int x = 0; x < W; x++) {
            int o = (p0 + x) * Q;
            double ss = 0;
            for (int q = 0; q < Q; q++) ss += (double) f[o + q] * f[o + q];
            scale[p0 + x] = Math.max((float) Math.sqrt(ss), NORM_FLOOR);
        }
    }

    /** The current block's sigmoid values, pixel-major [blockRows·W, Q]; valid until the next block's rows. */
    float[] sigmoids() {
        return f;
    }

    /**
     * Sums the block's {@code rows} rows (added since the last call) and writes their labels (first
     * maximum), maxima and, when {@code semantic} is not null, their [K, H, W] maps at pixel {@code offset}.
     */
    void finish(int rows, int offset, int[] labels, float[] scores, float[] semantic) {
        if (head == null) return; // no queries or no classes: all sums are 0, label 0, as the arrays start
        int P = rows * W;
        fBuf.put(0, f, 0, P * Q);
        head.project(fBuf, 1, P, tBuf, K, 1f, semantic == null ? null : logitBuf, labelBuf, scoreBuf);
        labelBuf.get(0, labels, offset, P);
        scoreBuf.get(0, scores, offset, P);
        for (int i = 0; i < P; i++) scores[offset + i] *= scale[i];
        if (semantic != null) {
            int plane = H * W;
            for (int k = 0; k < K; k++) {
                int o = k * plane + offset;
                logitBuf.get(k * P, semantic, o, P);
                for (int i = 0; i < P; i++) semantic[o + i] *= scale[i];
            }
        }
    }

    @Override
    public void close() {
        if (head != null) head.close();
    }

    private static FloatBuffer direct(int n) {
        return ByteBuffer.allocateDirect(Math.max(1, n) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
