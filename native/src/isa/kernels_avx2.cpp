// AVX2 + FMA: 6 x 16 block = 12 ymm accumulators, 2 for B, 1 broadcast (of 16 registers).
// Written with intrinsics: see kernels.inc.
#include <immintrin.h>
#include <stdint.h>
#define OVSEG_ISA_TABLE kIsaAvx2
#define OVSEG_ISA_NAME "avx2"
#define OVSEG_MR 6
#define OVSEG_NR 16
#define OVSEG_MC 96
#define OVSEG_KC 256
#define OVSEG_HAVE_MICRO_KERNEL 1

namespace ovseg {
namespace {
inline void store_tile(const float *tmp, float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate);

inline void micro_kernel(int64_t kc, const float *__restrict a, const float *__restrict b,
                         float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k, a += 6, b += 16) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x;
        x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    const __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    if (rows == 6 && cols == 16) {
        for (int i = 0; i < 6; ++i) {
            float *row = c + i * ldc;
            if (accumulate) {
                _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[2 * i]));
                _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[2 * i + 1]));
            } else {
                _mm256_storeu_ps(row, acc[2 * i]);
                _mm256_storeu_ps(row + 8, acc[2 * i + 1]);
            }
        }
        return;
    }
    float tmp[6 * 16];
    for (int i = 0; i < 12; ++i) _mm256_storeu_ps(tmp + 8 * i, acc[i]);
    store_tile(tmp, c, ldc, rows, cols, accumulate);
}
}  // namespace
}  // namespace ovseg

#include "kernels.inc"
