package org.ovseg.kernel;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Fully connected CRF post-processing (Krähenbühl &amp; Koltun 2011) as CLIP-as-RNN runs it
 * through pydensecrf: mean-field inference with a Gaussian kernel over pixel position and a
 * bilateral kernel over position and colour, Potts compatibility, symmetric kernel
 * normalisation, the self term included, filtered with a permutohedral lattice in libovseg_cpu.
 * See {@code ovseg_cpu_dense_crf} in {@code native/include/ovseg.h} for the exact update.
 *
 * <p>Thread-safety: as {@link CpuKernels} (concurrent calls share the native pool and run concurrently).
 */
public final class DenseCrf {
    private DenseCrf() {}

    /**
     * CRF parameters, named as pydensecrf's {@code addPairwiseGaussian(sxy, compat)} and
     * {@code addPairwiseBilateral(sxy, srgb, compat)}. A compat of 0 switches its kernel off
     * (its standard deviations are then not checked).
     */
    public record Params(int iterations, float gaussSxy, float gaussCompat, float bilatSxy,
            float bilatSrgb, float bilatCompat) {
        /** CLIP-as-RNN's settings: 10 iterations; Gaussian sxy 1, compat 3; bilateral sxy 67, srgb 3, compat 4. */
        public static final Params CAR = new Params(10, 1, 3, 67, 3, 4);

        public Params {
            if (iterations < 0) throw new IllegalArgumentException("DenseCrf: negative iterations " + iterations);
            if (!Float.isFinite(gaussCompat) || !Float.isFinite(bilatCompat)) {
                throw new IllegalArgumentException("DenseCrf: compat weights must be finite");
            }
            if (gaussCompat != 0 && !positive(gaussSxy)) {
                throw new IllegalArgumentException("DenseCrf: gaussSxy must be positive and finite, is " + gaussSxy);
            }
            if (bilatCompat != 0 && (!positive(bilatSxy) || !positive(bilatSrgb))) {
                throw new IllegalArgumentException("DenseCrf: bilatSxy and bilatSrgb must be positive and finite, are "
                        + bilatSxy + " and " + bilatSrgb);
            }
        }

        /** @return CaR's settings. */
        public static Params defaults() {
            return CAR;
        }

        /** @return these parameters with another iteration count */
        public Params withIterations(int n) {
            return new Params(n, gaussSxy, gaussCompat, bilatSxy, bilatSrgb, bilatCompat);
        }

        private static boolean positive(float v) {
            return Float.isFinite(v) && v > 0;
        }
    }

    /**
     * Mean-field marginals.
     *
     * @param unary [L,H,W] energies, −log probabilities (finite)
     * @param rgb [H,W,3] interleaved 8-bit colour (unsigned; channel order as the features want)
     * @return Q [L,H,W], each pixel's column summing to 1
     */
    public static float[] marginals(float[] unary, byte[] rgb, int L, int H, int W, Params p) {
        String op = "DenseCrf.marginals";
        int n = check(op, unary, rgb, L, H, W, p);
        float[] q = new float[n];
        if (n == 0) return q;
        // malloc'd and freed here (not direct buffers, which return their memory only after a GC).
        try (FloatPointer u = new FloatPointer(unary); BytePointer img = new BytePointer(rgb); FloatPointer out = new FloatPointer(n)) {
            Checks.status(op, NativeCpu.ovseg_cpu_dense_crf(u.asBuffer(), img.asBuffer(), L, H, W, p.gaussSxy(), p.gaussCompat(),
                    p.bilatSxy(), p.bilatSrgb(), p.bilatCompat(), p.iterations(), out.asBuffer()));
            out.get(q);
        }
        return q;
    }

    /**
     * The per-pixel argmax of {@link #marginals} (first maximum on ties).
     *
     * @return labels [H,W] in [0, L); -1 everywhere when L = 0
     */
    public static int[] labels(float[] unary, byte[] rgb, int L, int H, int W, Params p) {
        return labels(unary, rgb, L, H, W, p, Target.CPU);
    }

    /** Where the mean-field iterations run. */
    public enum Target {
        /** libovseg_cpu's permutohedral lattice. */
        CPU,
        /** libovseg_cuda: lattice built on the host, iterations on the current device (within 1e-4 of CPU). */
        CUDA
    }

    /**
     * The same marginals as {@link #marginals}, computed with the CUDA twin: host arrays in, host
     * array out; device memory and the stream are released before returning.
     *
     * @throws IllegalStateException when no CUDA device is usable
     */
    public static float[] marginalsCuda(float[] unary, byte[] rgb, int L, int H, int W, Params p) {
        String op = "DenseCrf.marginalsCuda";
        int n = check(op, unary, rgb, L, H, W, p);
        float[] q = new float[n];
        if (n == 0) return q;
        if ((long) n * 4 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(op + ": " + L + " labels at " + H + "x" + W + " exceed the 2 GiB host staging limit");
        }
        try (FloatPointer u = new FloatPointer(unary); BytePointer img = new BytePointer(rgb); FloatPointer out = new FloatPointer(n);
                DeviceBuffer du = DeviceBuffer.of(u.asByteBuffer()); DeviceBuffer di = DeviceBuffer.of(img.asByteBuffer());
                DeviceBuffer dq = DeviceBuffer.allocate((long) n * 4); CudaStream stream = CudaStream.create()) {
            CudaKernels.denseCrf(du, di, L, H, W, p, dq, stream);
            stream.synchronize();
            dq.download(out.asByteBuffer(), null);
            out.get(q);
        }
        return q;
    }

    /** {@link #labels(float[], byte[], int, int, int, Params)} computed on {@code target}. */
    public static int[] labels(float[] unary, byte[] rgb, int L, int H, int W, Params p, Target target) {
        float[] q = target == Target.CUDA ? marginalsCuda(unary, rgb, L, H, W, p) : marginals(unary, rgb, L, H, W, p);
        int hw = H * W;
        int[] labels = new int[hw];
        for (int i = 0; i < hw; i++) {
            int best = L == 0 ? -1 : 0;
            for (int l = 1; l < L; l++) {
                if (q[l * hw + i] > q[best * hw + i]) best = l;
            }
            labels[i] = best;
        }
        return labels;
    }

    private static int check(String op, float[] unary, byte[] rgb, int L, int H, int W, Params p) {
        Checks.sizes(op, L, H, W);
        if (p == null) throw new IllegalArgumentException(op + ": params is null");
        if (unary == null) throw new IllegalArgumentException(op + ": unary is null");
        if (rgb == null) throw new IllegalArgumentException(op + ": rgb is null");
        long n = Checks.product(op, L, H, W), pixels3 = Checks.product(op, H, W, 3);
        if (n > Integer.MAX_VALUE - 8 || pixels3 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(op + ": image too large for Java arrays");
        }
        if (unary.length != n) {
            throw new IllegalArgumentException(op + ": unary holds " + unary.length + " values, needs L*H*W = " + n);
        }
        if (rgb.length != pixels3) {
            throw new IllegalArgumentException(op + ": rgb holds " + rgb.length + " bytes, needs H*W*3 = " + pixels3);
        }
        return (int) n;
    }
}
