/*
 * Dense projection (MaskCLIP): per-token affine projection, L2 normalisation, cosine logits
 * against K text embeddings, and an optional fused arg-max.
 *
 * Math (ovseg.h, same as ovseg_cpu_dense_projection):
 *   z_p    = W f_p + bias                       f_p in R^D, W[E,D], bias[E] (may be NULL)
 *   zhat_p = z_p / max(||z_p||, 1e-12)
 *   logit[b,k,p] = tau * <T_k, zhat_p>         T[K,E]
 *   labels[b,p]  = first argmax_k logit         (-1 when K == 0)
 *   scores[b,p]  = max_k logit                  (-inf when K == 0)
 *
 * Shapes / layout (row-major, contiguous, batch outermost):
 *   F[B,P,D] in fp32/fp16/bf16 (dtype), W[E,D], bias[E], T[K,E] fp32;
 *   logits[B,K,P] fp32 (class-major), labels[B,P] int32, scores[B,P] fp32. Any output may be
 *   NULL, not all three. Accumulation is fp32 throughout.
 *
 * Kernels (all on the caller's stream):
 *   1. proj_gemm:   Z[B*P,E] = F . W^T + bias. B and P are flattened into M = B*P rows (F and Z
 *      are contiguous over them). Tiled SIMT GEMM (common.cuh), block tile 32 tokens x 64
 *      outputs, k-slice 32, 128 threads with 4x4 strided micro tiles. For the representative
 *      B=1, P=784..1024, E=512 this is 25..32 x 8 = 200..256 blocks of 12.4 KB shared memory,
 *      i.e. 1.5-2 waves of small blocks on 132 SMs, so several blocks share an SM and hide each
 *      other's global-load latency (no explicit double buffering). W (1.5 MB) and the F rows
 *      stay in L2; DRAM sees F and W once. Z (B*P*E*4 bytes, 1.6-2 MB) is scratch from the
 *      stream-ordered pool.
 *   2. classify:    for a tile of 32 classes x 32 tokens of one batch: first the 32 token norms
 *      (one warp per token, lanes stride E), then the 32x32 tile of <T_k, z_p> with the same
 *      GEMM (k = E), scaled by tau / max(||z_p||, 1e-12). Logits, when asked for, are stored
 *      class-major (consecutive threads -> consecutive tokens). Arg-max: each thread reduces its
 *      classes to a 64-bit key  (order-preserving bits of the logit) << 32 | (2^32-1 - k),  so
 *      that the unsigned maximum is the largest logit and, among equal logits, the smallest k
 *      (the CPU's "first maximum"); the 16 class rows of the block are combined in shared memory
 *      and one atomicMax per token merges the ceil(K/32) class tiles. The [K,P] logits therefore
 *      never reach global memory when logits == NULL; only the [B,P] keys do. -0.0 is folded
 *      into +0.0 before encoding so that signed zeros tie like they do on the CPU.
 *      Grid: B * ceil(P/32) * ceil(K/32) blocks of 128 threads (K=171, P=1024: 192 blocks).
 *   3. decode_keys: keys -> labels/scores, one thread per token.
 *   K == 0: one fill kernel (labels = -1, scores = -inf); logits is empty.
 *   E == 0: z = 0, zhat = 0, every logit is 0 (kernel 1 skipped, kernel 2 loops zero times).
 *   B*P == 0: nothing to write.
 * NaN inputs: the arg-max of NaN logits is unspecified (the CPU twin never selects NaN).
 */
#include <math.h>

#include "common.cuh"

namespace ovseg_cuda {
namespace {

/* kernel 1 geometry */
constexpr int P_BM = 32, P_BN = 64, P_BK = 32, P_TM = 4, P_TN = 4;
using ProjTile = Tile<P_BM, P_BN, P_BK, P_TM, P_TN>;
/* kernel 2 geometry: rows = classes, columns = tokens */
constexpr int C_BM = 32, C_BN = 32, C_BK = 32, C_TM = 2, C_TN = 4;
using ClsTile = Tile<C_BM, C_BN, C_BK, C_TM, C_TN>;
static_assert(ProjTile::THREADS == 128 && ClsTile::THREADS == 128, "128-thread blocks");

template <typename TF>
__global__ void __launch_bounds__(ProjTile::THREADS)
proj_gemm(const TF *__restrict__ F, const float *__restrict__ W, const float *__restrict__ bias,
          float *__restrict__ Z, int64_t M, int64_t D, int64_t E, int64_t tilesN) {
    __shared__ float As[P_BK * ProjTile::A_PITCH];
    __shared__ float Bs[P_BK * ProjTile::B_PITCH];
    const int64_t mt = blockIdx.x / tilesN, nt = blockIdx.x % tilesN;
    const int64_t m0 = mt * P_BM, n0 = nt * P_BN;
    auto la = [=](int64_t m, int64_t k) { return ldf(F, m * D + k); };
    auto lb = [=](int64_t n, int64_t k) { return W[n * D + k]; };
    float acc[P_TM][P_TN];
    nt_gemm_tile<P_BM, P_BN, P_BK, P_TM, P_TN>(la, lb, m0, M, n0, E, 0, D, acc, As, Bs);

    const int tx = threadIdx.x % ProjTile::TX, ty = threadIdx.x / ProjTile::TX;
#pragma unroll
    for (int j = 0; j < P_TN; ++j) {
        const int64_t n = n0 + tx + j * ProjTile::TX;
        if (n >= E) continue;
        const float bn = bias ? bias[n] : 0.f;
#pragma unroll
        for (int i = 0; i < P_TM; ++i) {
            const int64_t m = m0 + ty + i * ProjTile::TY;
            if (m < M) Z[m * E + n] = acc[i][j] + bn;
        }
    }
}

__device__ __forceinline__ uint32_t ordered_bits(float v) {
    const uint32_t u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float from_ordered_bits(uint32_t o) {
    return __uint_as_float((o & 0x80000000u) ? (o & 0x7fffffffu) : ~o);
}

__global__ void __launch_bounds__(ClsTile::THREADS)
classify(const float *__restrict__ Z, const float *__restrict__ T, int64_t P, int64_t E,
         int64_t K, float tau, int64_t tilesP, int64_t tilesK, float *__restrict__ logits,
         unsigned long long *__restrict__ keys) {
    __shared__ float As[C_BK * ClsTile::A_PITCH];
    __shared__ float Bs[C_BK * ClsTile::B_PITCH];
    __shared__ float inv_norm[C_BN];
    __shared__ unsigned long long red[ClsTile::TY][C_BN];

    const int64_t kt = blockIdx.x % tilesK;
    const int64_t rest = blockIdx.x / tilesK;
    const int64_t pt = rest % tilesP, b = rest / tilesP;
    const int64_t k0 = kt * C_BM, p0 = pt * C_BN;
    const float *Zb = Z + b * P * E; /* only dereferenced when E > 0 */

    /* token norms: warp w handles tokens w, w+4, ... */
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int t = warp; t < C_BN; t += ClsTile::THREADS / 32) {
        const int64_t p = p0 + t;
        float ss = 0.f;
        if (p < P)
            for (int64_t e = lane; e < E; e += 32) {
                const float z = Zb[p * E + e];
                ss = fmaf(z, z, ss);
            }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
        if (lane == 0) inv_norm[t] = 1.f / fmaxf(sqrtf(ss), 1e-12f);
    }
    __syncthreads(); /* the GEMM below may run zero k-steps (E == 0) and then has no barrier */

    auto la = [=](int64_t k, int64_t e) { return T[k * E + e]; };
    auto lb = [=](int64_t p, int64_t e) { return Zb[p * E + e]; };
    float acc[C_TM][C_TN];
    nt_gemm_tile<C_BM, C_BN, C_BK, C_TM, C_TN>(la, lb, k0, K, p0, P, 0, E, acc, As, Bs);

    const int tx = threadIdx.x % ClsTile::TX, ty = threadIdx.x / ClsTile::TX;
#pragma unroll
    for (int j = 0; j < C_TN; ++j) {
        const int col = tx + j * ClsTile::TX;
        const int64_t p = p0 + col;
        const float s = tau * inv_norm[col];
        unsigned long long best = 0ull; /* below every encoded logit */
#pragma unroll
        for (int i = 0; i < C_TM; ++i) {
            const int64_t k = k0 + ty + i * ClsTile::TY;
            if (k >= K || p >= P) continue;
            float v = acc[i][j] * s;
            if (logits) logits[(b * K + k) * P + p] = v;
            if (v == 0.f) v = 0.f; /* -0.0 -> +0.0 */
            const unsigned long long key =
                ((unsigned long long)ordered_bits(v) << 32) | (0xffffffffu - (uint32_t)k);
            best = key > best ? key : best;
        }
        red[ty][col] = best;
    }
    if (keys == nullptr) return; /* uniform across the block: no barrier is skipped by some */
    __syncthreads();
    if (threadIdx.x < C_BN) {
        const int col = threadIdx.x;
        unsigned long long best = 0ull;
#pragma unroll
        for (int r = 0; r < ClsTile::TY; ++r) best = red[r][col] > best ? red[r][col] : best;
        const int64_t p = p0 + col;
        if (p < P && best != 0ull) atomicMax(&keys[b * P + p], best);
    }
}

__global__ void decode_keys(const unsigned long long *__restrict__ keys, int64_t n,
                            int32_t *__restrict__ labels, float *__restrict__ scores) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const unsigned long long key = keys[i];
    /* key == 0 cannot happen for K > 0 with finite inputs; map it to the K == 0 answer. */
    const int32_t label = key ? (int32_t)(0xffffffffu - (uint32_t)(key & 0xffffffffull)) : -1;
    const float score = key ? from_ordered_bits((uint32_t)(key >> 32)) : -INFINITY;
    if (labels) labels[i] = label;
    if (scores) scores[i] = score;
}

__global__ void fill_empty(int64_t n, int32_t *__restrict__ labels, float *__restrict__ scores) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (labels) labels[i] = -1;
    if (scores) scores[i] = -INFINITY;
}

constexpr int64_t kMaxGrid = 2147483647ll;

int launch_all(int dtype, const void *F, int64_t B, int64_t P, int64_t D, const float *W,
               const float *bias, int64_t E, const float *T, int64_t K, float tau,
               float *logits, int32_t *labels, float *scores, cudaStream_t stream, void *ws) {
    const int64_t M = B * P;
    const bool want_keys = labels != nullptr || scores != nullptr;
    const size_t z_bytes = (size_t)(M * E) * sizeof(float);
    float *Z = E > 0 ? (float *)ws : nullptr;
    unsigned long long *keys =
        want_keys ? (unsigned long long *)((char *)ws + ((z_bytes + 255) & ~(size_t)255)) : nullptr;

    if (E > 0) {
        const int64_t tilesM = cdiv(M, P_BM), tilesN = cdiv(E, P_BN);
        const dim3 grid((unsigned)(tilesM * tilesN)), block(ProjTile::THREADS);
        switch (dtype) {
        case OVSEG_F32:
            proj_gemm<float><<<grid, block, 0, stream>>>((const float *)F, W, bias, Z, M, D, E,
                                                         tilesN);
            break;
        case OVSEG_F16:
            proj_gemm<__half><<<grid, block, 0, stream>>>((const __half *)F, W, bias, Z, M, D, E,
                                                          tilesN);
            break;
        default:
            proj_gemm<__nv_bfloat16><<<grid, block, 0, stream>>>((const __nv_bfloat16 *)F, W,
                                                                 bias, Z, M, D, E, tilesN);
            break;
        }
        OVSEG_LAUNCH_CHECK("proj_gemm launch");
    }
    if (want_keys)
        OVSEG_CUDA_CHECK(cudaMemsetAsync(keys, 0, (size_t)M * sizeof(unsigned long long), stream));
    {
        const int64_t tilesP = cdiv(P, C_BN), tilesK = cdiv(K, C_BM);
        const dim3 grid((unsigned)(B * tilesP * tilesK)), block(ClsTile::THREADS);
        classify<<<grid, block, 0, stream>>>(Z, T, P, E, K, tau, tilesP, tilesK, logits, keys);
        OVSEG_LAUNCH_CHECK("classify launch");
    }
    if (want_keys) {
        const int threads = 256;
        decode_keys<<<(unsigned)cdiv(M, threads), threads, 0, stream>>>(keys, M, labels, scores);
        OVSEG_LAUNCH_CHECK("decode_keys launch");
    }
    return OVSEG_OK;
}

} // namespace
} // namespace ovseg_cuda

using namespace ovseg_cuda;

extern "C" int ovseg_cuda_dense_projection(int dtype, const void *F, int64_t B, int64_t P,
                                           int64_t D, const float *W, const float *bias,
                                           int64_t E, const float *T, int64_t K, float tau,
                                           float *logits, int32_t *labels, float *scores,
                                           void *stream_) {
    if (!valid_dtype(dtype)) {
        set_error("ovseg_cuda_dense_projection: unknown dtype %d", dtype);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (B < 0 || P < 0 || D < 0 || E < 0 || K < 0) {
        set_error("ovseg_cuda_dense_projection: negative size (B %lld, P %lld, D %lld, E %lld, "
                  "K %lld)",
                  (long long)B, (long long)P, (long long)D, (long long)E, (long long)K);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (logits == nullptr && labels == nullptr && scores == nullptr) {
        set_error("ovseg_cuda_dense_projection: logits, labels and scores are all NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    /* Like the CPU twin: an input may be NULL only when it has no elements. */
    if ((B * P * D > 0 && F == nullptr) || (E * D > 0 && W == nullptr) ||
        (K * E > 0 && T == nullptr)) {
        set_error("ovseg_cuda_dense_projection: F, W or T is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    cudaStream_t stream = (cudaStream_t)stream_;
    const int64_t M = B * P;
    if (M == 0) return OVSEG_OK;
    if (K == 0) { /* logits is [B,0,P]: empty */
        if (labels == nullptr && scores == nullptr) return OVSEG_OK;
        if (cdiv(M, 256) > kMaxGrid) {
            set_error("ovseg_cuda_dense_projection: B*P too large for one grid");
            return OVSEG_ERR_UNSUPPORTED;
        }
        fill_empty<<<(unsigned)cdiv(M, 256), 256, 0, stream>>>(M, labels, scores);
        OVSEG_LAUNCH_CHECK("fill_empty launch");
        return OVSEG_OK;
    }
    if (cdiv(M, P_BM) * cdiv(E, P_BN) > kMaxGrid || B * cdiv(P, C_BN) * cdiv(K, C_BM) > kMaxGrid ||
        cdiv(M, 256) > kMaxGrid) {
        set_error("ovseg_cuda_dense_projection: problem too large for one grid");
        return OVSEG_ERR_UNSUPPORTED;
    }

    const bool want_keys = labels != nullptr || scores != nullptr;
    const size_t z_bytes = (size_t)(M * E) * sizeof(float);
    const size_t ws_bytes = ((z_bytes + 255) & ~(size_t)255) +
                            (want_keys ? (size_t)M * sizeof(unsigned long long) : 0);
    void *ws = nullptr;
    int st = ws_alloc(&ws, ws_bytes, stream);
    if (st != OVSEG_OK) return st;
    st = launch_all(dtype, F, B, P, D, W, bias, E, T, K, tau, logits, labels, scores, stream, ws);
    const int st_free = ws_free(ws, stream);
    return st != OVSEG_OK ? st : st_free;
}
