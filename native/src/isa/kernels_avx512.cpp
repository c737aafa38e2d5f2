// AVX-512F: 8 x 32 block = 16 zmm accumulators, 2 for B, broadcasts of A folded into the FMAs
// (of 32 registers); 8 x 16 (zmm) and 8 x 8 (ymm) blocks for narrower panels, so a product with
// few columns (21 classes, 8 slots, the 4 masks past 96) does not pay for padding to 32.
// Written with intrinsics: see kernels.inc.
#include <immintrin.h>
#include <stdint.h>

#include "transpose8.h"
#define OVSEG_ISA_TABLE kIsaAvx512
#define OVSEG_ISA_NAME "avx512"
#define OVSEG_MR 8
#define OVSEG_NR 32
#define OVSEG_MC 128
#define OVSEG_KC 256
#define OVSEG_HAVE_MICRO_KERNEL 1

namespace ovseg {
namespace {

// Packs a full 8-row panel of a row-major A (rows rsA apart) for depths [0, 8 * floor(kcb / 8)),
// 8 x 8 blocks at a time through registers instead of one float at a time: this copy touches all
// of A (the whole feature map, for mask pooling). Returns the depth done; kernels.inc does the rest.
#define OVSEG_HAVE_PACK_PANEL 1
inline int64_t pack_panel(const float *A, int64_t rsA, int64_t kcb, float *dst) {
    const int64_t done = kcb / 8 * 8;
    for (int64_t k = 0; k < done; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(A + i * rsA + k);
        transpose8(r);
        for (int j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (k + j) * 8, r[j]);
    }
    return done;
}

inline void store_tile(const float *tmp, float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate);

// The largest lane, in registers (a round trip through memory stalls on store forwarding; this
// runs once per softmax row).
#define OVSEG_HAVE_HMAX 1
typedef float hvec16 __attribute__((vector_size(64)));
// (Vector-extension shuffles rather than _mm512_reduce_max_ps or casts to 256 bits, and maskz
// forms with full masks below: GCC 12 warns inside those intrinsics, -Wmaybe-uninitialized.)
inline float hmax(hvec16 v) {
    typedef float v8 __attribute__((vector_size(32)));
    typedef float v4 __attribute__((vector_size(16)));
    const v8 lo8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
    const v8 hi8 = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    const v8 m8 = lo8 > hi8 ? lo8 : hi8;
    const v4 lo4 = __builtin_shufflevector(m8, m8, 0, 1, 2, 3), hi4 = __builtin_shufflevector(m8, m8, 4, 5, 6, 7);
    v4 m4 = lo4 > hi4 ? lo4 : hi4;
    const v4 sh2 = __builtin_shufflevector(m4, m4, 2, 3, 0, 1);
    m4 = m4 > sh2 ? m4 : sh2;
    return m4[0] > m4[1] ? m4[0] : m4[1];
}
// For exp: vmin(a, b) = a < b ? a : b and vmax(a, b) = a > b ? a : b exactly as the selects they
// replace (b when unordered); vfloor is exact.
#define OVSEG_HAVE_EXP_OPS 1
inline hvec16 vmin(hvec16 a, hvec16 b) { return reinterpret_cast<hvec16>(_mm512_maskz_min_ps(0xFFFF, reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b))); }
inline hvec16 vmax(hvec16 a, hvec16 b) { return reinterpret_cast<hvec16>(_mm512_maskz_max_ps(0xFFFF, reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b))); }
inline hvec16 vfloor(hvec16 a) {
    return reinterpret_cast<hvec16>(_mm512_maskz_roundscale_ps(0xFFFF, reinterpret_cast<__m512>(a), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
}

// Every element of C is one chain of multiply-adds over k in order, whichever block computes
// it, so the narrow blocks give the wide one's results bit for bit. tmp rows are 32 wide, as
// store_tile expects.
// A's element (i, k): Mode 0, packed, a[k * 8 + i]; Mode 1, a[i * lda + k] (a row-major A read
// where it lies); Mode 2, a[k * lda + i] (a transposed one). The same multiply-adds in the same
// order whichever mode.
template <int Mode>
inline void micro_kernel_16(int64_t kc, const float *__restrict a, int64_t lda, const float *__restrict b, int64_t ldb,
                            float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
    __m512 c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; ++k, a += Mode == 0 ? 8 : Mode == 1 ? 1 : lda, b += ldb) {
        const __m512 b0 = _mm512_loadu_ps(b);
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[Mode == 1 ? 0 * lda : 0]), b0, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[Mode == 1 ? 1 * lda : 1]), b0, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[Mode == 1 ? 2 * lda : 2]), b0, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[Mode == 1 ? 3 * lda : 3]), b0, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[Mode == 1 ? 4 * lda : 4]), b0, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[Mode == 1 ? 5 * lda : 5]), b0, c5);
        c6 = _mm512_fmadd_ps(_mm512_set1_ps(a[Mode == 1 ? 6 * lda : 6]), b0, c6);
        c7 = _mm512_fmadd_ps(_mm512_set1_ps(a[Mode == 1 ? 7 * lda : 7]), b0, c7);
    }
    const __m512 acc[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
    float tmp[8 * 32];
    for (int i = 0; i < 8; ++i) _mm512_storeu_ps(tmp + 32 * i, acc[i]);
    store_tile(tmp, c, ldc, rows, cols, accumulate);
}

template <int Mode>
inline void micro_kernel_8(int64_t kc, const float *__restrict a, int64_t lda, const float *__restrict b, int64_t ldb,
                           float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
    __m256 c4 = _mm256_setzero_ps(), c5 = _mm256_setzero_ps(), c6 = _mm256_setzero_ps(), c7 = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k, a += Mode == 0 ? 8 : Mode == 1 ? 1 : lda, b += ldb) {
        const __m256 b0 = _mm256_loadu_ps(b);
        c0 = _mm256_fmadd_ps(_mm256_set1_ps(a[Mode == 1 ? 0 * lda : 0]), b0, c0);
        c1 = _mm256_fmadd_ps(_mm256_set1_ps(a[Mode == 1 ? 1 * lda : 1]), b0, c1);
        c2 = _mm256_fmadd_ps(_mm256_set1_ps(a[Mode == 1 ? 2 * lda : 2]), b0, c2);
        c3 = _mm256_fmadd_ps(_mm256_set1_ps(a[Mode == 1 ? 3 * lda : 3]), b0, c3);
        c4 = _mm256_fmadd_ps(_mm256_set1_ps(a[Mode == 1 ? 4 * lda : 4]), b0, c4);
        c5 = _mm256_fmadd_ps(_mm256_set1_ps(a[Mode == 1 ? 5 * lda : 5]), b0, c5);
        c6 = _mm256_fmadd_ps(_mm256_set1_ps(a[Mode == 1 ? 6 * lda : 6]), b0, c6);
        c7 = _mm256_fmadd_ps(_mm256_set1_ps(a[Mode == 1 ? 7 * lda : 7]), b0, c7);
    }
    const __m256 acc[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
    float tmp[8 * 32];
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(tmp + 32 * i, acc[i]);
    store_tile(tmp, c, ldc, rows, cols, accumulate);
}

template <int Mode>
inline void micro_kernel_t(int64_t kc, const float *__restrict a, int64_t lda, const float *__restrict b, int64_t ldb,
                           float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    if (cols <= 24) {
        if (cols <= 8) {
            micro_kernel_8<Mode>(kc, a, lda, b, ldb, c, ldc, rows, cols, accumulate);
            return;
        }
        micro_kernel_16<Mode>(kc, a, lda, b, ldb, c, ldc, rows, cols < 16 ? cols : 16, accumulate);
        if (cols > 16) micro_kernel_8<Mode>(kc, a, lda, b + 16, ldb, c + 16, ldc, rows, cols - 16, accumulate);
        return;
    }
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; ++k, a += Mode == 0 ? 8 : Mode == 1 ? 1 : lda, b += ldb) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 x;
        x = _mm512_set1_ps(a[Mode == 1 ? 0 * lda : 0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
        x = _mm512_set1_ps(a[Mode == 1 ? 1 * lda : 1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
        x = _mm512_set1_ps(a[Mode == 1 ? 2 * lda : 2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
        x = _mm512_set1_ps(a[Mode == 1 ? 3 * lda : 3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
        x = _mm512_set1_ps(a[Mode == 1 ? 4 * lda : 4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
        x = _mm512_set1_ps(a[Mode == 1 ? 5 * lda : 5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);
        x = _mm512_set1_ps(a[Mode == 1 ? 6 * lda : 6]); c60 = _mm512_fmadd_ps(x, b0, c60); c61 = _mm512_fmadd_ps(x, b1, c61);
        x = _mm512_set1_ps(a[Mode == 1 ? 7 * lda : 7]); c70 = _mm512_fmadd_ps(x, b0, c70); c71 = _mm512_fmadd_ps(x, b1, c71);
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

inline void micro_kernel(int64_t kc, const float *__restrict a, const float *__restrict b, int64_t ldb,
                         float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    micro_kernel_t<0>(kc, a, 8, b, ldb, c, ldc, rows, cols, accumulate);
}

// A full 8-row panel of a row-major A read in place, without pack_a (see kernels.inc's gemm).
#define OVSEG_HAVE_DIRECT_A 1
inline void micro_kernel_direct(int64_t kc, const float *__restrict a, int64_t lda, const float *__restrict b,
                                int64_t ldb, float *c, int64_t ldc, int64_t cols, int accumulate) {
    micro_kernel_t<1>(kc, a, lda, b, ldb, c, ldc, 8, cols, accumulate);
}

// A full 8-row panel of a transposed A (element (i, k) at a[k * lda + i]) read in place.
inline void micro_kernel_direct_t(int64_t kc, const float *__restrict a, int64_t lda, const float *__restrict b,
                                  int64_t ldb, float *c, int64_t ldc, int64_t rows, int64_t cols, int accumulate) {
    micro_kernel_t<2>(kc, a, lda, b, ldb, c, ldc, rows, cols, accumulate);
}
}  // namespace
}  // namespace ovseg

#include "kernels.inc"
