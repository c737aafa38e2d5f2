package org.ovseg.kernel;

/** Naive double-precision loops, written from the kernels' stated math, as test references. */
final class Naive {
    private Naive() {}

    static double[] fold(float[] C, float[] bc, float[] V, float[] bv, int E, int Dv, int D, double[] bOut) {
        double[] W = new double[E * D];
        for (int e = 0; e < E; e++) {
            for (int d = 0; d < D; d++) {
                double s = 0;
                for (int j = 0; j < Dv; j++) s += (double) C[e * Dv + j] * V[j * D + d];
                W[e * D + d] = s;
            }
            double b = bc == null ? 0 : bc[e];
            if (bv != null) for (int j = 0; j < Dv; j++) b += (double) C[e * Dv + j] * bv[j];
            bOut[e] = b;
        }
        return W;
    }

    /** logits[b,k,p] = tau <T_k, normalize(W f_p + bias)> */
    static double[] denseProjection(float[] F, int B, int P, int D, float[] W, float[] bias, int E, float[] T, int K, float tau) {
        double[] out = new double[B * K * P];
        double[] z = new double[E];
        for (int b = 0; b < B; b++) {
            for (int p = 0; p < P; p++) {
                double norm = 0;
                for (int e = 0; e < E; e++) {
                    double s = bias == null ? 0 : bias[e];
                    for (int d = 0; d < D; d++) s += (double) W[e * D + d] * F[(b * P + p) * D + d];
                    z[e] = s;
                    norm += s * s;
                }
                norm = Math.max(Math.sqrt(norm), 1e-12);
                for (int k = 0; k < K; k++) {
                    double s = 0;
                    for (int e = 0; e < E; e++) s += T[k * E + e] * z[e] / norm;
                    out[(b * K + k) * P + p] = tau * s;
                }
            }
        }
        return out;
    }

    static double[] maskPool(float[] F, float[] M, int B, int C, int Q, int HW, boolean hard, boolean normalize) {
        double[] out = new double[B * Q * C];
        for (int b = 0; b < B; b++) {
            for (int q = 0; q < Q; q++) {
                double mass = 0;
                double[] m = new double[HW];
                for (int p = 0; p < HW; p++) {
                    double x = M[(b * Q + q) * HW + p];
                    m[p] = hard ? (x > 0 ? 1 : 0) : 1 / (1 + Math.exp(-x));
                    mass += m[p];
                }
                double norm = 0;
                for (int c = 0; c < C; c++) {
                    double s = 0;
                    for (int p = 0; p < HW; p++) s += m[p] * F[(b * C + c) * HW + p];
                    s /= mass + 1e-8;
                    out[(b * Q + q) * C + c] = s;
                    norm += s * s;
                }
                if (normalize) {
                    norm = Math.max(Math.sqrt(norm), 1e-12);
                    for (int c = 0; c < C; c++) out[(b * Q + q) * C + c] /= norm;
                }
            }
        }
        return out;
    }

    /** Returns updates[B,S,dv]; fills assign[B,N,S]. */
    static double[] slotAttention(float[] q, float[] k, float[] v, int B, int S, int N, int d, int dv,
            double scale, double eps, boolean hard, double[] assign) {
        double[] upd = new double[B * S * dv];
        for (int b = 0; b < B; b++) {
            for (int n = 0; n < N; n++) {
                double[] l = new double[S];
                int best = 0;
                for (int s = 0; s < S; s++) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += (double) q[(b * S + s) * d + j] * k[(b * N + n) * d + j];
                    l[s] = dot * scale;
                    if (l[s] > l[best]) best = s;
                }
                double total = 0;
                for (int s = 0; s < S; s++) total += Math.exp(l[s] - l[best]);
                for (int s = 0; s < S; s++) {
                    assign[(b * N + n) * S + s] = hard ? (s == best ? 1 : 0) : Math.exp(l[s] - l[best]) / total;
                }
            }
            for (int s = 0; s < S; s++) {
                double col = 0;
                for (int n = 0; n < N; n++) col += assign[(b * N + n) * S + s];
                for (int n = 0; n < N; n++) {
                    double w = col + eps > 0 ? assign[(b * N + n) * S + s] / (col + eps) : 0;
                    for (int j = 0; j < dv; j++) upd[(b * S + s) * dv + j] += w * v[(b * N + n) * dv + j];
                }
            }
        }
        return upd;
    }
}
