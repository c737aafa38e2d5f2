// Matrix products for the CPU twins, on top of the ISA tables: a packed right-hand side that
// several threads share, and a product split over the thread pool.
#pragma once
#include <cstdint>
#include <functional>

#include "common.h"
#include "isa/kernels.h"

namespace ovseg {

// B packed for the current ISA. Element (k, n) of the source is B[k*rsB + n*csB].
class PackedB {
public:
    bool pack(int64_t K, int64_t N, const float *B, int64_t rsB, int64_t csB);
    // The same packing, its K-blocks spread over the pool (for large B packed on every call).
    bool pack_parallel(int64_t K, int64_t N, const float *B, int64_t rsB, int64_t csB);
    int64_t k() const { return k_; }
    int64_t n() const { return n_; }
    const float *data() const { return buf_.data(); }

private:
    AlignedFloats buf_;
    int64_t k_ = 0, n_ = 0;
};

// Per-thread scratch for the packed left-hand side; valid until the thread's next call.
float *thread_a_scratch();

// C[M, N] = (accumulate ? C : 0) + A . B on the calling thread alone, rows [0, M).
void gemm_serial(int64_t M, const float *A, int64_t rsA, int64_t csA, const PackedB &B, float *C,
                 int64_t ldc, bool accumulate);

// The same product split into row and column tiles over the pool.
void gemm_parallel(int64_t M, const float *A, int64_t rsA, int64_t csA, const PackedB &B,
                   float *C, int64_t ldc, bool accumulate);

// C[M, N] = (accumulate ? C : 0) + A . B with B unpacked (element (k, n) at B[k*ldb + n]),
// split over the pool like gemm_parallel; bit for bit gemm_parallel's results on B packed.
// side(i) for i in [0, side_tasks) runs in the same pool dispatch, beside the product's tiles
// (independent work a caller would otherwise run serially or dispatch on its own).
void gemm_b_rows_parallel(int64_t M, int64_t N, int64_t K, const float *A, int64_t rsA, int64_t csA,
                          const float *B, int64_t ldb, float *C, int64_t ldc, bool accumulate,
                          int64_t side_tasks = 0, const std::function<void(int64_t)> &side = nullptr);

}  // namespace ovseg
