#include "gemm.h"

#include <algorithm>

#include "thread_pool.h"

namespace ovseg {

bool PackedB::pack(int64_t K, int64_t N, const float *B, int64_t rsB, int64_t csB) {
    const IsaKernels &k = isa();
    if (!buf_.reset(static_cast<size_t>(std::max<int64_t>(1, k.packed_b_floats(K, N))))) return false;
    k.pack_b(K, N, B, rsB, csB, buf_.data());
    k_ = K;
    n_ = N;
    return true;
}

float *thread_a_scratch() {
    thread_local AlignedFloats scratch;
    if (!scratch.reset(static_cast<size_t>(isa().a_scratch_floats()))) throw std::bad_alloc();
    return scratch.data();
}

void gemm_serial(int64_t M, const float *A, int64_t rsA, int64_t csA, const PackedB &B, float *C,
                 int64_t ldc, bool accumulate) {
    isa().gemm(M, 0, B.n(), B.k(), A, rsA, csA, B.data(), B.n(), C, ldc, accumulate ? 1 : 0,
               thread_a_scratch());
}

void gemm_parallel(int64_t M, const float *A, int64_t rsA, int64_t csA, const PackedB &B,
                   float *C, int64_t ldc, bool accumulate) {
    const IsaKernels &k = isa();
    const int64_t N = B.n();
    if (M <= 0 || N <= 0) return;
    // Aim for a few tiles per thread; prefer splitting rows (each A block is then packed once).
    const int64_t want = 4 * static_cast<int64_t>(pool_threads());
    int64_t row_tile = std::max<int64_t>(k.mr, ((M + want - 1) / want + k.mr - 1) / k.mr * k.mr);
    row_tile = std::max<int64_t>(row_tile, std::min<int64_t>(M, 4 * k.mr));
    const int64_t row_tiles = (M + row_tile - 1) / row_tile;
    int64_t col_tiles = std::max<int64_t>(1, want / row_tiles);
    const int64_t panels = (N + k.nr - 1) / k.nr;
    col_tiles = std::min(col_tiles, panels);
    const int64_t panels_per_tile = (panels + col_tiles - 1) / col_tiles;
    col_tiles = (panels + panels_per_tile - 1) / panels_per_tile;
    parallel_for(row_tiles * col_tiles, [&](int64_t t, int) {
        const int64_t r = t / col_tiles, c = t % col_tiles;
        const int64_t m0 = r * row_tile, m1 = std::min(M, m0 + row_tile);
        const int64_t n0 = c * panels_per_tile * k.nr;
        const int64_t n1 = std::min(N, n0 + panels_per_tile * k.nr);
        k.gemm(m1 - m0, n0, n1, B.k(), A + m0 * rsA, rsA, csA, B.data(), N, C + m0 * ldc, ldc,
               accumulate ? 1 : 0, thread_a_scratch());
    });
}

}  // namespace ovseg
