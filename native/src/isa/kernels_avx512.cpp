// AVX-512F: 8 x 32 block = 16 zmm accumulators, 2 for B, broadcasts of A folded into the FMAs
// (of 32 registers). Written with intrinsics: see kernels.inc.
#include <immintrin.h>
#include <stdint.h>
#define OVSEG_ISA_TABLE kIsaAvx512
#define OVSEG_ISA_NAME "avx512"
#define OVSEG_MR 8
#define OVSEG_NR 32
#define OVSEG_MC 128
#define OVSEG_KC 256
#define OVSEG_HAVE_MICRO_KERNEL 1

namespace ovseg {
namespace {
inline void store_tile(const float *tmp, float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate);

inline void micro_kernel(int64_t kc, const float *__restrict a, const float *__restrict b,
                         float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; ++k, a += 8, b += 32) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 x;
        x = _mm512_set1_ps(a[0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
        x = _mm512_set1_ps(a[1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
        x = _mm512_set1_ps(a[2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
        x = _mm512_set1_ps(a[3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
        x = _mm512_set1_ps(a[4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
        x = _mm512_set1_ps(a[5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);
        x = _mm512_set1_ps(a[6]); c60 = _mm512_fmadd_ps(x, b0, c60); c61 = _mm512_fmadd_ps(x, b1, c61);
        x = _mm512_set1_ps(a[7]); c70 = _mm512_fmadd_ps(x, b0, c70); c71 = _mm512_fmadd_ps(x, b1, c71);
    }
    const __m512 acc[16] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71};
    if (rows == 8 && cols == 32) {
        for (int i = 0; i < 8; ++i) {
            float *row = c + i * ldc;
            if (accumulate) {
                _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), acc[2 * i]));
                _mm512_storeu_ps(row + 16, _mm512_add_ps(_mm512_loadu_ps(row + 16), acc[2 * i + 1]));
            } else {
                _mm512_storeu_ps(row, acc[2 * i]);
                _mm512_storeu_ps(row + 16, acc[2 * i + 1]);
            }
        }
        return;
    }
    float tmp[8 * 32];
    for (int i = 0; i < 16; ++i) _mm512_storeu_ps(tmp + 16 * i, acc[i]);
    store_tile(tmp, c, ldc, rows, cols, accumulate);
}
}  // namespace
}  // namespace ovseg

#include "kernels.inc"
