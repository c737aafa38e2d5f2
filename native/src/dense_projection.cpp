// Dense projection (MaskCLIP): logit[b,k,p] = tau * <T_k, normalize(W f_p + bias)>.
//
// Per tile of PT pixels, on one thread: Z = F_tile . W^T (+ bias) into L2-resident scratch,
// each row scaled by tau / max(||z||, 1e-12), then L = Z . T^T (PT x K), then either the
// class-major scatter into logits or the fused argmax. W^T and T^T are packed once per call and
// shared read-only by every thread, so the only per-pixel traffic is reading F once.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"
#include "gemm.h"
#include "thread_pool.h"

namespace {
constexpr int64_t kTileRows = 64;
constexpr float kNormFloor = 1e-12f;
}  // namespace

// The per-call part: T packed, then the tiles. wt holds W^T packed ((d, e) = W[e*D + d]).
static int project(const float *F, int64_t B, int64_t P, int64_t D, const ovseg::PackedB &wt,
                   const float *bias, int64_t E, const float *T, int64_t K, float tau,
                   float *logits, int32_t *labels, float *scores) {
    using namespace ovseg;
    try {
        PackedB tt;
        if (!tt.pack_parallel(E, K, T, 1, E)) return OVSEG_ERR_OUT_OF_MEMORY;  // (e, k) = T[k*E + e]
        const IsaKernels &ops = isa();
        // Tiles of at most kTileRows, as many as a multiple of the pool's threads so that none
        // idles at the end (784 patches: 14 of 56 rows rather than 12 of 64 and one of 16). A
        // row's result does not depend on its tile.
        const int64_t threads = std::max(1, pool_threads());
        const int64_t even = ((P + kTileRows - 1) / kTileRows + threads - 1) / threads * threads;
        const int64_t tile_rows = std::min(kTileRows, ((P + even - 1) / even + ops.mr - 1) / ops.mr * ops.mr);
        const int64_t tiles = (P + tile_rows - 1) / tile_rows;
        parallel_for(B * tiles, [&](int64_t task, int) {
            thread_local AlignedFloats zbuf, lbuf;
            if (!zbuf.reset(static_cast<size_t>(kTileRows * std::max<int64_t>(E, 1))) ||
                !lbuf.reset(static_cast<size_t>(kTileRows * std::max<int64_t>(K, 1))))
                throw std::bad_alloc();
            const int64_t b = task / tiles, p0 = (task % tiles) * tile_rows;
            const int64_t rows = std::min(tile_rows, P - p0);
            float *z = zbuf.data(), *l = lbuf.data();
            if (E > 0) gemm_serial(rows, F + (b * P + p0) * D, D, 1, wt, z, E, false);
            for (int64_t i = 0; i < rows; ++i) {
                float *zi = z + i * E;
                if (bias) ops.add_row(zi, bias, E);
                const float norm = std::sqrt(ops.dot(zi, zi, E));
                ops.scale_row(zi, tau / std::max(norm, kNormFloor), E);
            }
            if (K > 0) gemm_serial(rows, z, E, 1, tt, l, K, false);
            if (logits) {
                float *out = logits + b * K * P + p0;
                for (int64_t k = 0; k < K; ++k)
                    for (int64_t i = 0; i < rows; ++i) out[k * P + i] = l[i * K + k];
            }
            if (labels || scores) {
                for (int64_t i = 0; i < rows; ++i) {
                    int32_t best = -1;
                    float best_v = -std::numeric_limits<float>::infinity();
                    for (int64_t k = 0; k < K; ++k) {
                        const float v = l[i * K + k];
                        if (best < 0 || v > best_v) {
                            best = static_cast<int32_t>(k);
                            best_v = v;
                        }
                    }
                    if (labels) labels[b * P + p0 + i] = best;
                    if (scores) scores[b * P + p0 + i] = best_v;
                }
            }
        });
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
    return OVSEG_OK;
}

OVSEG_API int ovseg_cpu_dense_projection(const float *F, int64_t B, int64_t P, int64_t D,
                                         const float *W, const float *bias, int64_t E,
                                         const float *T, int64_t K, float tau, float *logits,
                                         int32_t *labels, float *scores) {
    using namespace ovseg;
    if (!ovseg::isa_ready()) return OVSEG_ERR_ISA;
    if (any_negative({B, P, D, E, K})) return OVSEG_ERR_INVALID_ARGUMENT;
    if (!logits && !labels && !scores) return OVSEG_ERR_INVALID_ARGUMENT;
    if ((B * P * D > 0 && !F) || (E * D > 0 && !W) || (K * E > 0 && !T))
        return OVSEG_ERR_INVALID_ARGUMENT;
    if (B == 0 || P == 0) return OVSEG_OK;
    try {
        PackedB wt;
        if (!wt.pack_parallel(D, E, W, 1, D)) return OVSEG_ERR_OUT_OF_MEMORY;  // (d, e) = W[e*D + d]
        return project(F, B, P, D, wt, bias, E, T, K, tau, logits, labels, scores);
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
}

// W packed once per model. The ISA table is chosen once at load, so the packing stays valid
// for the library's lifetime.
struct ovseg_dense_head {
    ovseg::PackedB wt;
    ovseg::AlignedFloats bias;
    bool has_bias = false;
    int64_t E = 0, D = 0;
};

OVSEG_API int ovseg_cpu_dense_head_create(const float *W, const float *bias, int64_t E, int64_t D,
                                          ovseg_dense_head **out) {
    if (!out) return OVSEG_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    if (!ovseg::isa_ready()) return OVSEG_ERR_ISA;
    if (ovseg::any_negative({E, D}) || (E * D > 0 && !W)) return OVSEG_ERR_INVALID_ARGUMENT;
    try {
        auto *h = new ovseg_dense_head();
        h->E = E;
        h->D = D;
        bool ok = h->wt.pack_parallel(D, E, W, 1, D);
        if (ok && bias) {
            ok = h->bias.reset(static_cast<size_t>(std::max<int64_t>(E, 1)));
            if (ok) std::copy(bias, bias + E, h->bias.data());
            h->has_bias = true;
        }
        if (!ok) {
            delete h;
            return OVSEG_ERR_OUT_OF_MEMORY;
        }
        *out = h;
        return OVSEG_OK;
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
}

OVSEG_API int ovseg_cpu_dense_head_project(const ovseg_dense_head *head, const float *F, int64_t B,
                                           int64_t P, int64_t D, const float *T, int64_t K, float tau,
                                           float *logits, int32_t *labels, float *scores) {
    if (!head) return OVSEG_ERR_INVALID_ARGUMENT;
    if (!ovseg::isa_ready()) return OVSEG_ERR_ISA;
    if (ovseg::any_negative({B, P, D, K}) || D != head->D) return OVSEG_ERR_INVALID_ARGUMENT;
    if (!logits && !labels && !scores) return OVSEG_ERR_INVALID_ARGUMENT;
    if ((B * P * D > 0 && !F) || (K * head->E > 0 && !T)) return OVSEG_ERR_INVALID_ARGUMENT;
    if (B == 0 || P == 0) return OVSEG_OK;
    return project(F, B, P, D, head->wt, head->has_bias ? head->bias.data() : nullptr, head->E, T, K,
                   tau, logits, labels, scores);
}

OVSEG_API void ovseg_cpu_dense_head_free(ovseg_dense_head *head) { delete head; }
