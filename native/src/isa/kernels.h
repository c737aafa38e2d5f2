// The ISA-specific inner loops of the CPU twins: a packed, register-blocked SGEMM and a few
// vector row operations. Compiled once per ISA (kernels_generic/avx2/avx512.cpp include
// kernels.inc with different block sizes and compiler flags); isa_dispatch.cpp picks one table
// at load time from cpuid. This header must stay free of C++ standard headers (see CMakeLists).
#pragma once
#include <stdint.h>

namespace ovseg {

struct IsaKernels {
    const char *name;
    int mr, nr;  // register block: MR rows x NR columns of C per micro-kernel call
    // Floats needed to pack a K x N right-hand side.
    int64_t (*packed_b_floats)(int64_t K, int64_t N);
    // Pack B (element (k, n) at B[k*rsB + n*csB]) into NR-wide column panels, K-blocked.
    void (*pack_b)(int64_t K, int64_t N, const float *B, int64_t rsB, int64_t csB, float *out);
    // Floats of scratch gemm needs for its packed left-hand side.
    int64_t (*a_scratch_floats)();
    // C[0:M, n0:n1] = (accumulate ? C : 0) + A . B for packed B of width N; element (m, k) of A
    // is A[m*rsA + k*csA]; C is row-major with leading dimension ldc. n0 must be a multiple of
    // nr. Single-threaded: callers split M or N across the pool.
    void (*gemm)(int64_t M, int64_t n0, int64_t n1, int64_t K, const float *A, int64_t rsA,
                 int64_t csA, const float *Bp, int64_t N, float *C, int64_t ldc, int accumulate,
                 float *a_scratch);
    void (*add_row)(float *dst, const float *src, int64_t n);           // dst += src
    void (*axpy)(float *dst, float alpha, const float *src, int64_t n);  // dst += alpha*src
    void (*scale_row)(float *x, float s, int64_t n);                    // x *= s
    float (*dot)(const float *a, const float *b, int64_t n);
    float (*sum)(const float *a, int64_t n);
    // x = exp(x) in place, |relative error| < 2e-7 for x in [-87, 88]; below that, ~0.
    void (*exp_inplace)(float *x, int64_t n);
    // dst = 1 / (1 + exp(-src))
    void (*sigmoid)(const float *src, float *dst, int64_t n);
    // Depth of one packed K-block: pack_b of rows [k0, k0 + n) with k0 a multiple of kc writes
    // exactly the part of the whole packing that starts at k0 * packed_b_floats(1, N).
    int kc;
    // Floats of scratch gemm_b_rows needs.
    int64_t (*b_rows_scratch_floats)();
    // As gemm, with B unpacked: element (k, n) at B[k*ldb + n], rows contiguous. Same results
    // bit for bit as gemm on B packed; saves packing a B that is used once.
    void (*gemm_b_rows)(int64_t M, int64_t n0, int64_t n1, int64_t K, const float *A, int64_t rsA,
                        int64_t csA, const float *B, int64_t ldb, float *C, int64_t ldc,
                        int accumulate, float *scratch);
    float (*max)(const float *a, int64_t n);  // n >= 1
    // Row-wise softmax of rows x n floats (rows ld apart) after scaling by `scale`, in place; the
    // same results bit for bit as scale_row, max, subtracting the max, exp_inplace, then
    // scale_row by 1 / sum, row by row.
    void (*softmax_rows)(float *a, int64_t rows, int64_t n, int64_t ld, float scale);
};

extern const IsaKernels kIsaGeneric;
extern const IsaKernels kIsaAvx2;
extern const IsaKernels kIsaAvx512;

// The table chosen for this CPU (set once, at library load).
const IsaKernels &isa();
// False when OVSEG_CPU_ISA forces a table this CPU lacks: entry points using isa() then return
// OVSEG_ERR_ISA.
bool isa_ready();

}  // namespace ovseg
