/*
 * Mask pooling (ODISE, X-Decoder): average the features inside each mask.
 *
 * Math (ovseg.h, same as ovseg_cpu_mask_pool):
 *   hard: m[q,p] = (M[q,p] > 0) ? 1 : 0        soft: m[q,p] = sigmoid(M[q,p]) = 1/(1+exp(-M))
 *   out[b,q,c] = sum_p m[q,p] F[c,p] / (sum_p m[q,p] + 1e-8)
 *   normalize != 0:  out[b,q,:] /= max(||out[b,q,:]||, 1e-12)
 *
 * Shapes / layout (row-major, contiguous, batch outermost):
 *   F[B,C,HW], M[B,Q,HW] in fp32/fp16/bf16 (dtype, both), out[B,Q,C] fp32; fp32 accumulation.
 *
 * It is a GEMM, out_b = m_b . F_b^T (Q x C, reduction over HW, both operands with HW
 * contiguous), plus the row sums of m. The GPU computes it densely in both modes (the CPU twin's
 * "cost in proportion to the pixels inside the masks" is a CPU-side sparsity trick; on the GPU
 * the dense tile GEMM is cheaper than gathering).
 *
 * Kernels (on the caller's stream):
 *   1. pool_gemm: common.cuh tile GEMM, 32 masks x 64 channels per block, k-slice 32 pixels,
 *      128 threads with 4x4 strided micro tiles; the mask transform (threshold or sigmoid) is
 *      applied as the mask tile is loaded. The representative Q=100, C=768 gives only
 *      4 x 12 = 48 output tiles, far fewer than 132 SMs, and a long reduction (HW = 4096), so
 *      the reduction is split: splits = ceil(264 / tiles) (about two blocks per SM), capped so
 *      that each split keeps >= 128 pixels and at most 32 splits; the chunk is a multiple of 32.
 *      For the representative shape: 6 splits of 704 pixels -> 288 blocks. Each block writes its
 *      partial tile to part[split][b][q][c] (scratch, deterministic: no atomics). Block order
 *      puts the Q tiles innermost so that the ceil(Q/32) blocks reading one F tile run together
 *      and F (the large operand: C*HW) comes from DRAM about once.
 *   2. pool_finalize: one 256-thread block per (b,q) row: the row sum of m over HW (block
 *      reduction; recomputed from M, which costs one extra read of the small mask tensor), then
 *      for each c the sum over splits, division by (rowsum + 1e-8) and, if asked, the L2
 *      normalisation of the row (a second block reduction; each thread rescales the entries it
 *      wrote itself, so no barrier is needed between the write and the re-read).
 *   HW == 0: out = 0 (memset). B, Q or C == 0: nothing to write.
 */
#include <math.h>

#include "common.cuh"

namespace ovseg_cuda {
namespace {

constexpr int MP_BM = 32, MP_BN = 64, MP_BK = 32, MP_TM = 4, MP_TN = 4;
using PoolTile = Tile<MP_BM, MP_BN, MP_BK, MP_TM, MP_TN>;
constexpr int FIN_THREADS = 256;
constexpr int64_t kMaxGrid = 2147483647ll;

template <int MODE>
__device__ __forceinline__ float mask_value(float x) {
    if (MODE == OVSEG_MASK_HARD) return x > 0.f ? 1.f : 0.f;
    return 1.f / (1.f + expf(-x));
}

template <typename TF, int MODE>
__global__ void __launch_bounds__(PoolTile::THREADS)
pool_gemm(const TF *__restrict__ F, const TF *__restrict__ Mk, int64_t B, int64_t C, int64_t Q,
          int64_t HW, int64_t tilesQ, int64_t tilesC, int64_t splits, int64_t chunk,
          float *__restrict__ part) {
    __shared__ float As[MP_BK * PoolTile::A_PITCH];
    __shared__ float Bs[MP_BK * PoolTile::B_PITCH];
    int64_t idx = blockIdx.x;
    const int64_t qt = idx % tilesQ;
    idx /= tilesQ;
    const int64_t ct = idx % tilesC;
    idx /= tilesC;
    const int64_t s = idx % splits;
    const int64_t b = idx / splits;

    const TF *Mb = Mk + b * Q * HW;
    const TF *Fb = F + b * C * HW;
    const int64_t q0 = qt * MP_BM, c0 = ct * MP_BN;
    const int64_t k0 = s * chunk;
    const int64_t k1 = k0 + chunk < HW ? k0 + chunk : HW;

    auto la = [=](int64_t q, int64_t p) { return mask_value<MODE>(ldf(Mb, q * HW + p)); };
    auto lb = [=](int64_t c, int64_t p) { return ldf(Fb, c * HW + p); };
    float acc[MP_TM][MP_TN];
    nt_gemm_tile<MP_BM, MP_BN, MP_BK, MP_TM, MP_TN>(la, lb, q0, Q, c0, C, k0, k1, acc, As, Bs);

    const int tx = threadIdx.x % PoolTile::TX, ty = threadIdx.x / PoolTile::TX;
    float *dst = part + (s * B + b) * Q * C;
#pragma unroll
    for (int i = 0; i < MP_TM; ++i) {
        const int64_t q = q0 + ty + i * PoolTile::TY;
        if (q >= Q) continue;
#pragma unroll
        for (int j = 0; j < MP_TN; ++j) {
            const int64_t c = c0 + tx + j * PoolTile::TX;
            if (c < C) dst[q * C + c] = acc[i][j];
        }
    }
}

template <typename TF, int MODE>
__global__ void __launch_bounds__(FIN_THREADS)
pool_finalize(const float *__restrict__ part, const TF *__restrict__ Mk, int64_t B, int64_t C,
              int64_t Q, int64_t HW, int64_t splits, int normalize, float *__restrict__ out) {
    __shared__ float red[FIN_THREADS / 32];
    const int64_t row = blockIdx.x; /* b*Q + q */
    const TF *mrow = Mk + row * HW;

    float ms = 0.f;
    for (int64_t p = threadIdx.x; p < HW; p += FIN_THREADS) ms += mask_value<MODE>(ldf(mrow, p));
    const float denom = block_sum<FIN_THREADS>(ms, red) + 1e-8f;

    const int64_t slice = B * Q * C; /* distance between two splits' partials */
    float *orow = out + row * C;
    float ss = 0.f;
    for (int64_t c = threadIdx.x; c < C; c += FIN_THREADS) {
        float v = 0.f;
        for (int64_t s = 0; s < splits; ++s) v += part[s * slice + row * C + c];
        v = v / denom;
        orow[c] = v;
        ss = fmaf(v, v, ss);
    }
    if (!normalize) return; /* uniform across the block */
    const float nrm = fmaxf(sqrtf(block_sum<FIN_THREADS>(ss, red)), 1e-12f);
    for (int64_t c = threadIdx.x; c < C; c += FIN_THREADS) orow[c] = orow[c] / nrm;
}

template <typename TF, int MODE>
int launch_typed(const void *F_, const void *M_, int64_t B, int64_t C, int64_t Q, int64_t HW,
                 int normalize, float *out, cudaStream_t stream, float *part, int64_t tilesQ,
                 int64_t tilesC, int64_t splits, int64_t chunk) {
    const TF *F = (const TF *)F_;
    const TF *Mk = (const TF *)M_;
    const int64_t blocks = B * tilesQ * tilesC * splits;
    pool_gemm<TF, MODE><<<(unsigned)blocks, PoolTile::THREADS, 0, stream>>>(
        F, Mk, B, C, Q, HW, tilesQ, tilesC, splits, chunk, part);
    OVSEG_LAUNCH_CHECK("pool_gemm launch");
    pool_finalize<TF, MODE><<<(unsigned)(B * Q), FIN_THREADS, 0, stream>>>(part, Mk, B, C, Q, HW,
                                                                          splits, normalize, out);
    OVSEG_LAUNCH_CHECK("pool_finalize launch");
    return OVSEG_OK;
}

template <typename TF>
int launch_mode(int mode, const void *F, const void *M, int64_t B, int64_t C, int64_t Q,
                int64_t HW, int normalize, float *out, cudaStream_t stream, float *part,
                int64_t tilesQ, int64_t tilesC, int64_t splits, int64_t chunk) {
    if (mode == OVSEG_MASK_HARD)
        return launch_typed<TF, OVSEG_MASK_HARD>(F, M, B, C, Q, HW, normalize, out, stream, part,
                                                 tilesQ, tilesC, splits, chunk);
    return launch_typed<TF, OVSEG_MASK_SOFT>(F, M, B, C, Q, HW, normalize, out, stream, part,
                                             tilesQ, tilesC, splits, chunk);
}

} // namespace
} // namespace ovseg_cuda

using namespace ovseg_cuda;

extern "C" int ovseg_cuda_mask_pool(int dtype, const void *F, const void *M, int64_t B,
                                    int64_t C, int64_t Q, int64_t HW, int mode, int normalize,
                                    float *out, void *stream_) {
    if (!valid_dtype(dtype)) {
        set_error("ovseg_cuda_mask_pool: unknown dtype %d", dtype);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (mode != OVSEG_MASK_HARD && mode != OVSEG_MASK_SOFT) {
        set_error("ovseg_cuda_mask_pool: unknown mask mode %d", mode);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (B < 0 || C < 0 || Q < 0 || HW < 0) {
        set_error("ovseg_cuda_mask_pool: negative size (B %lld, C %lld, Q %lld, HW %lld)",
                  (long long)B, (long long)C, (long long)Q, (long long)HW);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    /* Like the CPU twin: a tensor may be NULL only when it has no elements. */
    if ((B * C * HW > 0 && F == nullptr) || (B * Q * HW > 0 && M == nullptr) ||
        (B * Q * C > 0 && out == nullptr)) {
        set_error("ovseg_cuda_mask_pool: F, M or out is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    cudaStream_t stream = (cudaStream_t)stream_;
    if (B == 0 || Q == 0 || C == 0) return OVSEG_OK;
    if (HW == 0) { /* 0 / (0 + 1e-8) = 0, and normalize(0) = 0 */
        OVSEG_CUDA_CHECK(cudaMemsetAsync(out, 0, (size_t)(B * Q * C) * sizeof(float), stream));
        return OVSEG_OK;
    }

    const int64_t tilesQ = cdiv(Q, MP_BM), tilesC = cdiv(C, MP_BN);
    const int64_t tiles = B * tilesQ * tilesC;
    int64_t splits = cdiv(264, tiles);
    const int64_t max_by_len = HW / 128 > 1 ? HW / 128 : 1;
    if (splits > max_by_len) splits = max_by_len;
    if (splits > 32) splits = 32;
    if (splits < 1) splits = 1;
    const int64_t chunk = cdiv(cdiv(HW, splits), MP_BK) * MP_BK;
    splits = cdiv(HW, chunk); /* every split non-empty */
    if (tiles * splits > kMaxGrid || B * Q > kMaxGrid) {
        set_error("ovseg_cuda_mask_pool: problem too large for one grid");
        return OVSEG_ERR_UNSUPPORTED;
    }

    void *ws = nullptr;
    int st = ws_alloc(&ws, (size_t)(splits * B * Q * C) * sizeof(float), stream);
    if (st != OVSEG_OK) return st;
    float *part = (float *)ws;
    switch (dtype) {
    case OVSEG_F32:
        st = launch_mode<float>(mode, F, M, B, C, Q, HW, normalize, out, stream, part, tilesQ,
                                tilesC, splits, chunk);
        break;
    case OVSEG_F16:
        st = launch_mode<__half>(mode, F, M, B, C, Q, HW, normalize, out, stream, part, tilesQ,
                                 tilesC, splits, chunk);
        break;
    default:
        st = launch_mode<__nv_bfloat16>(mode, F, M, B, C, Q, HW, normalize, out, stream, part,
                                        tilesQ, tilesC, splits, chunk);
        break;
    }
    const int st_free = ws_free(ws, stream);
    return st != OVSEG_OK ? st : st_free;
}
