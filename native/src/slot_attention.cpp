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
                // One pass per tile of tokens: its logits, then its softmax while they are in
                // cache (one pool dispatch, not two). Per element the same arithmetic as a
                // product over all rows at once.
                const int64_t mr = isa().mr;
                const int64_t want = 4 * static_cast<int64_t>(pool_threads());
                const int64_t rows = std::max<int64_t>(4 * mr, ((N + want - 1) / want + mr - 1) / mr * mr);
                parallel_for((N + rows - 1) / rows, [&](int64_t t, int) {
                    const IsaKernels &ops = isa();
                    const int64_t n0 = t * rows, n1 = std::min(N, n0 + rows);
                    gemm_serial(n1 - n0, kb + n0 * d, d, 1, qt, a + n0 * S, S, false);
                    if (!hard) {
                        ops.softmax_rows(a + n0 * S, n1 - n0, S, S, scale);
                        return;
                    }
                    for (int64_t n = n0; n < n1; ++n) {
                        float *row = a + n * S;
                        ops.scale_row(row, scale, S);
                        int64_t best = 0;
                        for (int64_t s = 1; s < S; ++s)
                            if (row[s] > row[best]) best = s;
                        for (int64_t s = 0; s < S; ++s) row[s] = s == best ? 1.0f : 0.0f;
                    }
                });
            }
            // The slots' masses, 8 slots per task, each summed over the tokens in order, in the
            // same dispatch as the product. V is used once: read in place rather than packed.
            constexpr int64_t kSlotsPerTask = 8;
            gemm_b_rows_parallel(S, dv, N, a, 1, S, vb, dv, ub, dv, false,  // (s, n) = a[n*S + s]
                                 (S + kSlotsPerTask - 1) / kSlotsPerTask, [&](int64_t t) {
                                     const int64_t s0 = t * kSlotsPerTask, s1 = std::min(S, s0 + kSlotsPerTask);
                                     // In registers, fixed width for a full task (vectorised):
                                     // the same sums, in the same order, as adding into colsum.
                                     double acc[kSlotsPerTask] = {};
                                     const float *at = a + s0;
                                     if (s1 - s0 == kSlotsPerTask) {
                                         for (int64_t n = 0; n < N; ++n, at += S)
                                             for (int64_t s = 0; s < kSlotsPerTask; ++s) acc[s] += at[s];
                                     } else {
                                         for (int64_t n = 0; n < N; ++n, at += S)
                                             for (int64_t s = 0; s < s1 - s0; ++s) acc[s] += at[s];
                                     }
                                     for (int64_t s = s0; s < s1; ++s) colsum[static_cast<size_t>(s)] = acc[s - s0];
                                 });
            if (dv == 0) continue;
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
