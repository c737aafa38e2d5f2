// Matrix products for the CPU twins, on top of the ISA tables: a packed right-hand side that
// several threads share, and a product split over the thread pool.
#pragma once
#include <cstdint>

#include "common.h"
#include "isa/kernels.h"

namespace ovseg {

// B packed for the current ISA. Element (k, n) of the source is B[k*rsB + n*csB].
class PackedB {
public:
    bool pack(int64_t K, int64_t N, const float *B, int64_t rsB, int64_t csB);
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

}  // namespace ovseg
