// Plain GEMM: C[M,N] = A[M,K] . B[K,N], or A . B[N,K]^T.
//
// B is packed once per call (pack_b takes any strides, so the transposed case is the same pack
// with rows and columns swapped) and shared read-only by the pool's tiles; A is read in place.
// Packing costs K*N copies against the product's M*N*K multiply-adds, and gives the transposed
// case the same micro-kernel as the plain one.
#include <algorithm>

#include "common.h"
#include "gemm.h"

OVSEG_API int ovseg_cpu_matmul(const float *A, const float *B, int64_t M, int64_t N, int64_t K,
                               int b_transposed, float *C) {
    using namespace ovseg;
    if (!isa_ready()) return OVSEG_ERR_ISA;
    if (any_negative({M, N, K}) || (b_transposed != 0 && b_transposed != 1))
        return OVSEG_ERR_INVALID_ARGUMENT;
    // Element counts past int64 cannot describe real buffers; refuse them before multiplying.
    if (mul_overflows(M, K) || mul_overflows(K, N) || mul_overflows(M, N)) return OVSEG_ERR_INVALID_ARGUMENT;
    if ((M * K > 0 && !A) || (K * N > 0 && !B) || (M * N > 0 && !C)) return OVSEG_ERR_INVALID_ARGUMENT;
    if (M == 0 || N == 0) return OVSEG_OK;
    if (K == 0) {  // an empty sum
        std::fill(C, C + M * N, 0.0f);
        return OVSEG_OK;
    }
    try {
        PackedB bp;
        // Element (k, n): B[k*N + n] plain, B[n*K + k] transposed.
        const bool ok = b_transposed ? bp.pack_parallel(K, N, B, 1, K) : bp.pack_parallel(K, N, B, N, 1);
        if (!ok) return OVSEG_ERR_OUT_OF_MEMORY;
        gemm_parallel(M, A, K, 1, bp, C, N, false);
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
    return OVSEG_OK;
}
