// Mask pooling (ODISE, X-Decoder): out[b,q,:] = sum_p m[q,p] F[:,p] / (sum_p m[q,p] + 1e-8).
//
// Soft masks: one matrix product per image, computed as out^T[C,Q] = F[C,HW] . m^T[HW,Q] so
// that the large operand F is read in place (packed block by block) and only the small m^T is
// packed whole. Hard masks: each mask becomes a list of runs of consecutive inside pixels, and
// every channel row of F (contiguous, L1-resident) is summed over those runs, so the work is
// proportional to the pixels inside the masks (plus one pass over M to find the runs).
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "gemm.h"
#include "thread_pool.h"

namespace {

constexpr double kMassEps = 1e-8;

struct Run {
    int64_t begin, end;
};

void normalize_rows(float *out, int64_t Q, int64_t C) {
    const ovseg::IsaKernels &ops = ovseg::isa();
    for (int64_t q = 0; q < Q; ++q) {
        float *row = out + q * C;
        const float norm = std::sqrt(ops.dot(row, row, C));
        ops.scale_row(row, 1.0f / std::max(norm, 1e-12f), C);
    }
}

// out = (m · Fᵀ) / mass with the weights m computed by `weights(src row, dst row)`.
template <class Weights>
void pool_dense(const float *F, const float *M, int64_t C, int64_t Q, int64_t HW, float *out, Weights weights) {
    using namespace ovseg;
    AlignedFloats m(static_cast<size_t>(Q * HW)), outT(static_cast<size_t>(C * Q));
    if (!m.data() || !outT.data()) throw std::bad_alloc();
    std::vector<double> mass(static_cast<size_t>(Q));
    parallel_for(Q, [&](int64_t q, int) {
        float *dst = m.data() + q * HW;
        weights(M + q * HW, dst);
        mass[static_cast<size_t>(q)] = isa().sum(dst, HW);
    });
    PackedB mt;
    if (!mt.pack_parallel(HW, Q, m.data(), 1, HW)) throw std::bad_alloc();  // (p, q) = m[q*HW + p]
    gemm_parallel(C, F, HW, 1, mt, outT.data(), Q, false);
    for (int64_t q = 0; q < Q; ++q) {
        const float inv = static_cast<float>(1.0 / (mass[static_cast<size_t>(q)] + kMassEps));
        for (int64_t c = 0; c < C; ++c) out[q * C + c] = outT.data()[c * Q + q] * inv;
    }
}

void pool_soft(const float *F, const float *M, int64_t C, int64_t Q, int64_t HW, float *out) {
    pool_dense(F, M, C, Q, HW, out, [HW](const float *src, float *dst) { ovseg::isa().sigmoid(src, dst, HW); });
}

// Above this fraction of inside pixels the run sums lose to one dense matrix product.
constexpr double kSparseDensity = 0.2;

void pool_hard(const float *F, const float *M, int64_t C, int64_t Q, int64_t HW, float *out) {
    using namespace ovseg;
    std::vector<std::vector<Run>> runs(static_cast<size_t>(Q));
    std::vector<int64_t> count(static_cast<size_t>(Q), 0);
    parallel_for(Q, [&](int64_t q, int) {
        const float *row = M + q * HW;
        auto &r = runs[static_cast<size_t>(q)];
        int64_t n = 0;
        for (int64_t p = 0; p < HW;) {
            if (!(row[p] > 0.0f)) {
                ++p;
                continue;
            }
            const int64_t begin = p;
            while (p < HW && row[p] > 0.0f) ++p;
            r.push_back({begin, p});
            n += p - begin;
        }
        count[static_cast<size_t>(q)] = n;
    });
    int64_t inside = 0;
    for (int64_t n : count) inside += n;
    if (static_cast<double>(inside) > kSparseDensity * static_cast<double>(Q) * static_cast<double>(HW)) {
        pool_dense(F, M, C, Q, HW, out, [HW](const float *src, float *dst) {
            for (int64_t p = 0; p < HW; ++p) dst[p] = src[p] > 0.0f ? 1.0f : 0.0f;
        });
        return;
    }
    const IsaKernels &ops = isa();
    constexpr int64_t kChannelTile = 16;
    parallel_for((C + kChannelTile - 1) / kChannelTile, [&](int64_t t, int) {
        const int64_t c0 = t * kChannelTile, c1 = std::min(C, c0 + kChannelTile);
        for (int64_t c = c0; c < c1; ++c) {
            const float *f = F + c * HW;
            for (int64_t q = 0; q < Q; ++q) {
                float s = 0.0f;
                for (const Run &run : runs[static_cast<size_t>(q)]) s += ops.sum(f + run.begin, run.end - run.begin);
                out[q * C + c] = static_cast<float>(s / (static_cast<double>(count[static_cast<size_t>(q)]) + kMassEps));
            }
        }
    });
}

}  // namespace

OVSEG_API int ovseg_cpu_mask_pool(const float *F, const float *M, int64_t B, int64_t C, int64_t Q,
                                  int64_t HW, int mode, int normalize, float *out) {
    using namespace ovseg;
    if (!ovseg::isa_ready()) return OVSEG_ERR_ISA;
    if (any_negative({B, C, Q, HW})) return OVSEG_ERR_INVALID_ARGUMENT;
    if (mode != OVSEG_MASK_HARD && mode != OVSEG_MASK_SOFT) return OVSEG_ERR_INVALID_ARGUMENT;
    if ((B * C * HW > 0 && !F) || (B * Q * HW > 0 && !M) || (B * Q * C > 0 && !out))
        return OVSEG_ERR_INVALID_ARGUMENT;
    if (B * Q * C == 0) return OVSEG_OK;
    try {
        for (int64_t b = 0; b < B; ++b) {
            const float *Fb = F + b * C * HW, *Mb = M + b * Q * HW;
            float *ob = out + b * Q * C;
            if (HW == 0) {
                std::fill(ob, ob + Q * C, 0.0f);
                continue;
            }
            if (mode == OVSEG_MASK_SOFT) pool_soft(Fb, Mb, C, Q, HW, ob);
            else pool_hard(Fb, Mb, C, Q, HW, ob);
            if (normalize) normalize_rows(ob, Q, C);
        }
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
    return OVSEG_OK;
}
