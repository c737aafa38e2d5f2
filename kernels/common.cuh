/*
 * Internal helpers shared by the ovseg CUDA kernels (not part of the C API).
 *
 *  - error reporting: every failing entry point stores a thread-local message (runtime.cu) that
 *    ovseg_cuda_last_error() returns, and answers OVSEG_ERR_CUDA / OVSEG_ERR_OUT_OF_MEMORY;
 *  - dtype loads: activations arrive as fp32, fp16 or bf16 and are widened to fp32 on load;
 *  - nt_gemm_tile: the one tiled SIMT GEMM all three kernels are built on;
 *  - stream-ordered workspace (cudaMallocAsync, with a synchronous fallback).
 *
 * nt_gemm_tile computes, for one block, the BM x BN tile
 *     acc[r][c] = sum_{k in [k0,k1)} A(m0 + r, k) * B(n0 + c, k)
 * where A(m, k) and B(n, k) are functors returning fp32 (both operands are "row-major with the
 * reduction index contiguous", i.e. C = A . B^T, the layout of every product in this library:
 * F.W^T, T.Z^T, M.F^T, K.Q^T). Rows m >= M, columns n >= N and k >= k1 read as 0, so tails
 * need no special casing by callers. Each thread owns a TM x TN micro tile, strided:
 *     rows  ty + i*TY  (i < TM),   columns  tx + j*TX  (j < TN),   TX = BN/TN, TY = BM/TM,
 * so that consecutive threads (consecutive tx) touch consecutive columns: conflict-free shared
 * reads and coalesced epilogue stores. The operand tiles are stored k-major in shared memory with
 * an odd row pitch (BM+1, BN+1): the transposing store of a 32-wide k slice then hits 32
 * different banks (bank = (c*(BM+1) + r) mod 32 = (c + r) mod 32 across a warp whose c = 0..31).
 * Global loads: consecutive threads read consecutive k of one row -> coalesced.
 */
#ifndef OVSEG_KERNELS_COMMON_CUH
#define OVSEG_KERNELS_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "ovseg.h"

/* Internal helpers stay out of libovseg_cuda.so's dynamic symbol table. */
#define OVSEG_INTERNAL __attribute__((visibility("hidden")))

namespace ovseg_cuda {

/* ---- errors (runtime.cu) ---------------------------------------------------------------- */
OVSEG_INTERNAL void set_error(const char *fmt, ...);
/* Maps a failed CUDA call to a status, storing "<what>: <cudaGetErrorString> (<code>)". */
OVSEG_INTERNAL int cuda_fail(const char *what, cudaError_t err);

#define OVSEG_CUDA_CHECK(call)                                                   \
    do {                                                                          \
        cudaError_t ovseg_e_ = (call);                                            \
        if (ovseg_e_ != cudaSuccess) return ::ovseg_cuda::cuda_fail(#call, ovseg_e_); \
    } while (0)

/* After a <<<>>> launch: configuration errors are reported synchronously. */
#define OVSEG_LAUNCH_CHECK(name)                                                  \
    do {                                                                          \
        cudaError_t ovseg_e_ = cudaGetLastError();                                \
        if (ovseg_e_ != cudaSuccess) return ::ovseg_cuda::cuda_fail(name, ovseg_e_); \
    } while (0)

/* Status of the last launch, for code paths that must not return early. */
inline int launch_status(const char *what) {
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? (int)OVSEG_OK : cuda_fail(what, e);
}

/* ---- workspace (runtime.cu) ------------------------------------------------------------- */
/* Stream-ordered scratch: allocated with cudaMallocAsync on `stream` when the device supports
 * memory pools (its default pool keeps freed blocks cached), else cudaMalloc. ws_free must be
 * given the same stream after the last kernel that uses the buffer; in the fallback it
 * synchronises the stream before cudaFree. bytes == 0 yields nullptr and OVSEG_OK. */
OVSEG_INTERNAL int ws_alloc(void **ptr, size_t bytes, cudaStream_t stream);
OVSEG_INTERNAL int ws_free(void *ptr, cudaStream_t stream);

/* ---- argument helpers ------------------------------------------------------------------- */
inline bool valid_dtype(int dtype) {
    return dtype == OVSEG_F32 || dtype == OVSEG_F16 || dtype == OVSEG_BF16;
}
__host__ __device__ inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
/* Blocks for a grid-stride loop over n elements: ceil(n / threads), at least 1, at most 2^20
 * (the loop covers the rest, so any n fits one 1-D grid). The host emulation lowers the cap so
 * that the loops' second and later rounds run in the tests too. */
#ifndef OVSEG_GRID_STRIDE_MAX_BLOCKS
#define OVSEG_GRID_STRIDE_MAX_BLOCKS (1 << 20)
#endif
inline unsigned grid_stride_blocks(int64_t n, int threads) {
    const int64_t b = cdiv(n, threads);
    return (unsigned)(b < 1 ? 1 : b > OVSEG_GRID_STRIDE_MAX_BLOCKS ? OVSEG_GRID_STRIDE_MAX_BLOCKS : b);
}
#define OVSEG_GRID_STRIDE(i, n)                                                        \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (int64_t)(n); \
         i += (int64_t)gridDim.x * blockDim.x)

/* ---- dtype loads ------------------------------------------------------------------------ */
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ __forceinline__ float ldf(const T *p, int64_t i) {
    return to_f32(p[i]);
}

/* ---- the tiled NT GEMM ------------------------------------------------------------------ */
template <int BM, int BN, int BK, int TM, int TN>
struct Tile {
    static constexpr int TX = BN / TN;
    static constexpr int TY = BM / TM;
    static constexpr int THREADS = TX * TY;
    static constexpr int A_PITCH = BM + 1;
    static constexpr int B_PITCH = BN + 1;
    static constexpr int SMEM_FLOATS = BK * A_PITCH + BK * B_PITCH;
    static_assert(BN % TN == 0 && BM % TM == 0, "tile must divide");
};

/* Must be called by all THREADS threads of the block (it synchronises). As/Bs: shared scratch of
 * BK*(BM+1) and BK*(BN+1) floats. On return the scratch may be reused (ends with a barrier). */
template <int BM, int BN, int BK, int TM, int TN, typename LA, typename LB>
__device__ __forceinline__ void nt_gemm_tile(const LA &la, const LB &lb, int64_t m0, int64_t M,
                                             int64_t n0, int64_t N, int64_t k0, int64_t k1,
                                             float (&acc)[TM][TN], float *As, float *Bs) {
    using TL = Tile<BM, BN, BK, TM, TN>;
    const int tid = threadIdx.x;
    const int tx = tid % TL::TX;
    const int ty = tid / TL::TX;
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

    for (int64_t kt = k0; kt < k1; kt += BK) {
        for (int e = tid; e < BM * BK; e += TL::THREADS) {
            const int r = e / BK, c = e % BK;
            const int64_t gm = m0 + r, gk = kt + c;
            As[c * TL::A_PITCH + r] = (gm < M && gk < k1) ? la(gm, gk) : 0.f;
        }
        for (int e = tid; e < BN * BK; e += TL::THREADS) {
            const int r = e / BK, c = e % BK;
            const int64_t gn = n0 + r, gk = kt + c;
            Bs[c * TL::B_PITCH + r] = (gn < N && gk < k1) ? lb(gn, gk) : 0.f;
        }
        __syncthreads();
#pragma unroll 8
        for (int kk = 0; kk < BK; ++kk) {
            float a[TM], b[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) a[i] = As[kk * TL::A_PITCH + ty + i * TL::TY];
#pragma unroll
            for (int j = 0; j < TN; ++j) b[j] = Bs[kk * TL::B_PITCH + tx + j * TL::TX];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
}

/* Block-wide sum for blockDim.x == THREADS (multiple of 32, <= 1024). red: THREADS/32 floats
 * of shared memory. Every thread gets the result. Contains barriers. */
template <int THREADS>
__device__ __forceinline__ float block_sum(float v, float *red) {
    static_assert(THREADS % 32 == 0 && THREADS <= 1024, "block size");
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); /* red may still be read by a previous call */
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float s = 0.f;
#pragma unroll
    for (int w = 0; w < THREADS / 32; ++w) s += red[w];
    return s;
}

} // namespace ovseg_cuda

#endif
