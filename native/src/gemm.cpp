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

bool PackedB::pack_parallel(int64_t K, int64_t N, const float *B, int64_t rsB, int64_t csB) {
    const IsaKernels &k = isa();
    // Below ~256 KB the pool's wake-up costs more than the copy saves.
    if (K * N < (int64_t{1} << 16)) return pack(K, N, B, rsB, csB);
    if (!buf_.reset(static_cast<size_t>(std::max<int64_t>(1, k.packed_b_floats(K, N))))) return false;
    const int64_t kc = k.kc, npad = k.packed_b_floats(1, N);
    float *out = buf_.data();
    parallel_for((K + kc - 1) / kc, [&](int64_t t, int) {
        const int64_t k0 = t * kc;
        k.pack_b(std::min(kc, K - k0), N, B + k0 * rsB, rsB, csB, out + k0 * npad);
    });
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

namespace {

struct Tiling {
    int64_t row_tile, row_tiles, col_tiles, panels_per_tile;
};

Tiling tiling(int64_t M, int64_t N) {
    const IsaKernels &k = isa();
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
    return {row_tile, row_tiles, col_tiles, panels_per_tile};
}

}  // namespace

void gemm_parallel(int64_t M, const float *A, int64_t rsA, int64_t csA, const PackedB &B,
                   float *C, int64_t ldc, bool accumulate) {
    const IsaKernels &k = isa();
    const int64_t N = B.n();
    if (M <= 0 || N <= 0) return;
    const Tiling tl = tiling(M, N);
    parallel_for(tl.row_tiles * tl.col_tiles, [&](int64_t t, int) {
        const int64_t r = t / tl.col_tiles, c = t % tl.col_tiles;
        const int64_t m0 = r * tl.row_tile, m1 = std::min(M, m0 + tl.row_tile);
        const int64_t n0 = c * tl.panels_per_tile * k.nr;
        const int64_t n1 = std::min(N, n0 + tl.panels_per_tile * k.nr);
        k.gemm(m1 - m0, n0, n1, B.k(), A + m0 * rsA, rsA, csA, B.data(), N, C + m0 * ldc, ldc,
               accumulate ? 1 : 0, thread_a_scratch());
    });
}

void gemm_b_rows_parallel(int64_t M, int64_t N, int64_t K, const float *A, int64_t rsA, int64_t csA,
                          const float *B, int64_t ldb, float *C, int64_t ldc, bool accumulate,
                          int64_t side_tasks, const std::function<void(int64_t)> &side) {
    const IsaKernels &k = isa();
    const Tiling tl = M > 0 && N > 0 ? tiling(M, N) : Tiling{1, 0, 0, 1};
    const int64_t tiles = tl.row_tiles * tl.col_tiles;
    if (tiles + side_tasks == 0) return;
    parallel_for(tiles + side_tasks, [&](int64_t t, int) {
        if (t >= tiles) {
            side(t - tiles);
            return;
        }
        thread_local AlignedFloats scratch;
        if (!scratch.reset(static_cast<size_t>(k.b_rows_scratch_floats()))) throw std::bad_alloc();
        const int64_t r = t / tl.col_tiles, c = t % tl.col_tiles;
        const int64_t m0 = r * tl.row_tile, m1 = std::min(M, m0 + tl.row_tile);
        const int64_t n0 = c * tl.panels_per_tile * k.nr;
        const int64_t n1 = std::min(N, n0 + tl.panels_per_tile * k.nr);
        k.gemm_b_rows(m1 - m0, n0, n1, K, A + m0 * rsA, rsA, csA, B, ldb, C + m0 * ldc, ldc,
                      accumulate ? 1 : 0, scratch.data());
    });
}

}  // namespace ovseg
