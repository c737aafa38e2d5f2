// Slot attention, one binding step (OVSegmentor): tokens compete for slots.
//   L = scale * K . Q^T  [N,S];  A = softmax over slots (or one-hot argmax);
//   updates = diag(1 / (colsum(A) + eps)) . A^T . V  [S,dv].
// Two matrix products per image; the softmax is over the short slot axis of each token row.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "gemm.h"
#include "thread_pool.h"

OVSEG_API int ovseg_cpu_slot_attention(const float *q, const float *k, const float *v,
                                       int64_t B, int64_t S, int64_t N, int64_t d, int64_t dv,
                                       float scale, float eps, int hard, float *updates,
                                       float *assign) {
    using namespace ovseg;
    if (!ovseg::isa_ready()) return OVSEG_ERR_ISA;
    if (any_negative({B, S, N, d, dv})) return OVSEG_ERR_INVALID_ARGUMENT;
    if ((B * S * d > 0 && !q) || (B * N * d > 0 && !k) || (B * N * dv > 0 && !v) ||
        (B * S * dv > 0 && !updates))
        return OVSEG_ERR_INVALID_ARGUMENT;
    if (!(eps >= 0.0f) || !std::isfinite(scale)) return OVSEG_ERR_INVALID_ARGUMENT;
    if (scale <= 0.0f) scale = d > 0 ? 1.0f / std::sqrt(static_cast<float>(d)) : 1.0f;
    if (B == 0 || S == 0) return OVSEG_OK;
    try {
        AlignedFloats scratch;
        std::vector<double> colsum(static_cast<size_t>(S));
        for (int64_t b = 0; b < B; ++b) {
            const float *qb = q + b * S * d, *kb = k + b * N * d, *vb = v + b * N * dv;
            float *ub = updates + b * S * dv;
            float *a = assign ? assign + b * N * S : nullptr;
            if (!a) {
                if (!scratch.reset(static_cast<size_t>(std::max<int64_t>(1, N * S)))) return OVSEG_ERR_OUT_OF_MEMORY;
                a = scratch.data();
            }
            if (N > 0) {
                PackedB qt;
                if (!qt.pack(d, S, qb, 1, d)) return OVSEG_ERR_OUT_OF_MEMORY;  // (j, s) = q[s*d + j]
                gemm_parallel(N, kb, d, 1, qt, a, S, false);
                parallel_for((N + 255) / 256, [&](int64_t t, int) {
                    const int64_t n1 = std::min(N, (t + 1) * 256);
                    for (int64_t n = t * 256; n < n1; ++n) {
                        float *row = a + n * S;
                        int64_t best = 0;
                        for (int64_t s = 0; s < S; ++s) {
                            row[s] *= scale;
                            if (row[s] > row[best]) best = s;
                        }
                        if (hard) {
                            for (int64_t s = 0; s < S; ++s) row[s] = s == best ? 1.0f : 0.0f;
                            continue;
                        }
                        const float mx = row[best];
                        for (int64_t s = 0; s < S; ++s) row[s] -= mx;
                        isa().exp_inplace(row, S);
                        const float inv = 1.0f / isa().sum(row, S);
                        for (int64_t s = 0; s < S; ++s) row[s] *= inv;
                    }
                });
            }
            std::fill(colsum.begin(), colsum.end(), 0.0);
            for (int64_t n = 0; n < N; ++n)
                for (int64_t s = 0; s < S; ++s) colsum[static_cast<size_t>(s)] += a[n * S + s];
            if (dv == 0) continue;
            PackedB vp;
            if (!vp.pack(N, dv, vb, dv, 1)) return OVSEG_ERR_OUT_OF_MEMORY;
            gemm_parallel(S, a, 1, S, vp, ub, dv, false);  // (s, n) = a[n*S + s]
            for (int64_t s = 0; s < S; ++s) {
                // A slot no token chose (possible in hard mode, or with eps = 0) gets zero
                // updates rather than 0/0.
                const double mass = colsum[static_cast<size_t>(s)] + eps;
                isa().scale_row(ub + s * dv, mass > 0 ? static_cast<float>(1.0 / mass) : 0.0f, dv);
            }
        }
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
    return OVSEG_OK;
}
