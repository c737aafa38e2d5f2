// AVX2 + FMA: 6 x 16 block = 12 ymm accumulators, 2 for B, 1 broadcast (of 16 registers); a
// 6 x 8 block for panels at most 8 columns wide (small class or slot counts), so those do not
// pay for the padding. Written with intrinsics: see kernels.inc.
#include <immintrin.h>
#include <stdint.h>

#include "transpose8.h"
#define OVSEG_ISA_TABLE kIsaAvx2
#define OVSEG_ISA_NAME "avx2"
#define OVSEG_MR 6
#define OVSEG_NR 16
#define OVSEG_MC 96
#define OVSEG_KC 256
#define OVSEG_HAVE_MICRO_KERNEL 1

namespace ovseg {
namespace {

// Packs a full 6-row panel of a row-major A (rows rsA apart) for depths [0, 8 * floor(kcb / 8)),
// through 8 x 8 register transposes (two rows zero) instead of one float at a time; each column
// stores its 6 live lanes. Returns the depth done; kernels.inc does the rest.
#define OVSEG_HAVE_PACK_PANEL 1
inline int64_t pack_panel(const float *A, int64_t rsA, int64_t kcb, float *dst) {
    const int64_t done = kcb / 8 * 8;
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    for (int64_t k = 0; k < done; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 6; ++i) r[i] = _mm256_loadu_ps(A + i * rsA + k);
        r[6] = r[7] = _mm256_setzero_ps();
        transpose8(r);
        for (int j = 0; j < 8; ++j) _mm256_maskstore_ps(dst + (k + j) * 6, six, r[j]);
    }
    return done;
}

inline void store_tile(const float *tmp, float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate);

// Every element of C is one chain of multiply-adds over k in order, whichever block computes
// it, so the narrow block gives the wide one's results bit for bit.
inline void micro_kernel_8(int64_t kc, const float *__restrict a, const float *__restrict b, int64_t ldb,
                           float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps();
    __m256 c3 = _mm256_setzero_ps(), c4 = _mm256_setzero_ps(), c5 = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k, a += 6, b += ldb) {
        const __m256 b0 = _mm256_loadu_ps(b);
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 0), b0, c0);
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), b0, c1);
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), b0, c2);
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), b0, c3);
        c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 4), b0, c4);
        c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 5), b0, c5);
    }
    const __m256 acc[6] = {c0, c1, c2, c3, c4, c5};
    float tmp[6 * 16];
    for (int i = 0; i < 6; ++i) _mm256_storeu_ps(tmp + 16 * i, acc[i]);
    store_tile(tmp, c, ldc, rows, cols, accumulate);
}

inline void micro_kernel(int64_t kc, const float *__restrict a, const float *__restrict b, int64_t ldb,
                         float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    if (cols <= 8) {
        micro_kernel_8(kc, a, b, ldb, c, ldc, rows, cols, accumulate);
        return;
    }
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k, a += 6, b += ldb) {
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
