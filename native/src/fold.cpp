// W = C . V and b = C . bv + bc: CLIP's attention-pool value and output projections folded into
// one affine map, so the dense head is a single matrix product per pixel.
#include <cmath>

#include "common.h"
#include "gemm.h"

OVSEG_API int ovseg_fold_projection(const float *C, const float *bc, const float *V,
                                    const float *bv, int64_t E, int64_t Dv, int64_t D, float *W,
                                    float *b) {
    if (!ovseg::isa_ready()) return OVSEG_ERR_ISA;
    if (ovseg::any_negative({E, Dv, D})) return OVSEG_ERR_INVALID_ARGUMENT;
    if ((E * Dv > 0 && !C) || (Dv * D > 0 && !V) || (E * D > 0 && !W) || (E > 0 && !b))
        return OVSEG_ERR_INVALID_ARGUMENT;
    try {
        if (E > 0 && D > 0) {
            ovseg::PackedB vp;
            if (!vp.pack(Dv, D, V, D, 1)) return OVSEG_ERR_OUT_OF_MEMORY;
            ovseg::gemm_parallel(E, C, Dv, 1, vp, W, D, false);
        }
        for (int64_t e = 0; e < E; ++e) {
            double acc = bc ? bc[e] : 0.0;
            if (bv)
                for (int64_t j = 0; j < Dv; ++j) acc += static_cast<double>(C[e * Dv + j]) * bv[j];
            b[e] = static_cast<float>(acc);
        }
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
    return OVSEG_OK;
}
