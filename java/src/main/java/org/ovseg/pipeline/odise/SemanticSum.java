package org.ovseg.pipeline.odise;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.ovseg.kernel.CpuKernels;

/**
 * Mask2Former's semantic sum semantic[k,p] = Σ_q probs[q,k]·σ_q[p] over blocks of image rows, as one
 * native GEMM per block: the block's sigmoid values, pixel-major S[P, Q], times the class weights
 * T[Q, K] = probs[·, 0..K) give the pixel-major sums S·T [P, K]. Pixel-major output keeps each
 * pixel's K sums contiguous for the first-maximum argmax; the [K, H, W] maps, when kept, are a
 * transpose of the block in cache-sized chunks. B (the small T) is what the kernel packs per call,
 * so nothing of size P·Q is repacked.
 *
 * <p>Holds buffers of one block's worth (direct ones freed with the object: nothing native to
 * close), so nothing of size K×H×W exists unless the caller passes a semantic array.
 */
final class SemanticSum {
    /** Pixels per block: ~3 MB of sigmoids at Q = 100, many row tiles per pool thread. */
    static final int BLOCK_PIXELS = 8192;
    private static final int TRANSPOSE_CHUNK = 64;

    private final int Q, K, H, W, blockRows;
    private final float[] f, sums;
    private final FloatBuffer fBuf, tBuf, sumBuf;

    private SemanticSum(int Q, int K, int H, int W, int blockRows, FloatBuffer tBuf) {
        this.Q = Q;
        this.K = K;
        this.H = H;
        this.W = W;
        this.blockRows = blockRows;
        this.tBuf = tBuf;
        int P = blockRows * W;
        this.f = new float[P * Q];
        boolean summed = tBuf != null; // false: no queries or classes, nothing to sum
        this.fBuf = summed ? direct(P * Q) : null;
        this.sumBuf = summed ? direct(P * K) : null;
        this.sums = summed ? new float[P * K] : null;
    }

    /**
     * @param probs [Q, K+1] class probabilities (void last, not summed)
     * @param blockRows image rows per block; 0 picks about {@link #BLOCK_PIXELS} pixels
     */
    static SemanticSum open(float[] probs, int Q, int K, int H, int W, int blockRows) {
        int rows = rowsPerBlock(H, W, blockRows);
        if (Q == 0 || K == 0 || W == 0) return new SemanticSum(Q, K, H, W, rows, null);
        FloatBuffer t = direct(Q * K);
        for (int q = 0; q < Q; q++) t.put(q * K, probs, q * (K + 1), K);
        return new SemanticSum(Q, K, H, W, rows, t);
    }

    /** The block height {@link #open} picks for {@code blockRows} (0: about {@link #BLOCK_PIXELS} pixels). */
    static int rowsPerBlock(int H, int W, int blockRows) {
        return Math.max(1, Math.min(Math.max(H, 1), blockRows > 0 ? blockRows : BLOCK_PIXELS / Math.max(W, 1)));
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
        if (tBuf == null) return; // no queries or no classes: all sums are 0, label 0, as the arrays start
        int P = rows * W;
        fBuf.put(0, f, 0, P * Q);
        CpuKernels.matmul(fBuf, tBuf, P, K, Q, false, sumBuf);
        sumBuf.get(0, sums, 0, P * K);
        for (int i = 0, o = 0; i < P; i++, o += K) {
            int best = 0;
            float bv = sums[o];
            for (int k = 1; k < K; k++) {
                if (sums[o + k] > bv) {
                    bv = sums[o + k];
                    best = k;
                }
            }
            labels[offset + i] = best;
            scores[offset + i] = bv;
        }
        if (semantic == null) return;
        int plane = H * W;
        // Pixel chunks of TRANSPOSE_CHUNK·K sums stay in L1 while each class row is written contiguously.
        for (int i0 = 0; i0 < P; i0 += TRANSPOSE_CHUNK) {
            int i1 = Math.min(P, i0 + TRANSPOSE_CHUNK);
            for (int k = 0; k < K; k++) {
                int o = k * plane + offset;
                for (int i = i0; i < i1; i++) semantic[o + i] = sums[i * K + k];
            }
        }
    }

    private static FloatBuffer direct(int n) {
        return ByteBuffer.allocateDirect(Math.max(1, n) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
