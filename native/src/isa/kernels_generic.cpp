// Baseline x86-64 (SSE2): 6 x 8 block = 12 xmm accumulators, 2 for B, 1 broadcast (of 16).
// Written with intrinsics: see kernels.inc.
#include <emmintrin.h>
#include <stdint.h>
#define OVSEG_ISA_TABLE kIsaGeneric
#define OVSEG_ISA_NAME "generic"
#define OVSEG_MR 6
#define OVSEG_NR 8
#define OVSEG_MC 96
#define OVSEG_KC 256
#define OVSEG_HAVE_MICRO_KERNEL 1

namespace ovseg {
namespace {
inline void store_tile(const float *tmp, float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate);

inline void micro_kernel(int64_t kc, const float *__restrict a, const float *__restrict b, int64_t ldb,
                         float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    __m128 c00 = _mm_setzero_ps(), c01 = _mm_setzero_ps(), c10 = _mm_setzero_ps(), c11 = _mm_setzero_ps();
    __m128 c20 = _mm_setzero_ps(), c21 = _mm_setzero_ps(), c30 = _mm_setzero_ps(), c31 = _mm_setzero_ps();
    __m128 c40 = _mm_setzero_ps(), c41 = _mm_setzero_ps(), c50 = _mm_setzero_ps(), c51 = _mm_setzero_ps();
    for (int64_t k = 0; k < kc; ++k, a += 6, b += ldb) {
        const __m128 b0 = _mm_loadu_ps(b), b1 = _mm_loadu_ps(b + 4);
        __m128 x;
        x = _mm_set1_ps(a[0]); c00 = _mm_add_ps(c00, _mm_mul_ps(x, b0)); c01 = _mm_add_ps(c01, _mm_mul_ps(x, b1));
        x = _mm_set1_ps(a[1]); c10 = _mm_add_ps(c10, _mm_mul_ps(x, b0)); c11 = _mm_add_ps(c11, _mm_mul_ps(x, b1));
        x = _mm_set1_ps(a[2]); c20 = _mm_add_ps(c20, _mm_mul_ps(x, b0)); c21 = _mm_add_ps(c21, _mm_mul_ps(x, b1));
        x = _mm_set1_ps(a[3]); c30 = _mm_add_ps(c30, _mm_mul_ps(x, b0)); c31 = _mm_add_ps(c31, _mm_mul_ps(x, b1));
        x = _mm_set1_ps(a[4]); c40 = _mm_add_ps(c40, _mm_mul_ps(x, b0)); c41 = _mm_add_ps(c41, _mm_mul_ps(x, b1));
        x = _mm_set1_ps(a[5]); c50 = _mm_add_ps(c50, _mm_mul_ps(x, b0)); c51 = _mm_add_ps(c51, _mm_mul_ps(x, b1));
    }
    float tmp[6 * 8];
    const __m128 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    for (int i = 0; i < 12; ++i) _mm_storeu_ps(tmp + 4 * i, acc[i]);
    store_tile(tmp, c, ldc, rows, cols, accumulate);
}
}  // namespace
}  // namespace ovseg

#include "kernels.inc"
