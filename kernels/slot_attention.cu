/*
 * Slot attention, one binding step (OVSegmentor's grouping block), S <= 64 slots.
 *
 * Math (ovseg.h, same as ovseg_cpu_slot_attention):
 *   l[n,s] = scale * <q_s, k_n>                 scale <= 0 means 1/sqrt(d)
 *   a[n,:] = softmax_s(l[n,:])                  (over slots, per token)
 *   hard:    a[n,:] = onehot(first argmax_s l[n,s])
 *   updates[b,s,:] = sum_n a[n,s] v_n / (sum_n a[n,s] + eps)
 *   assign[b,n,s]  = a[n,s]                     (assign may be NULL)
 *
 * Shapes / layout (row-major, contiguous, batch outermost):
 *   q[B,S,d], k[B,N,d], v[B,N,dv] in fp32/fp16/bf16 (dtype, all three); updates[B,S,dv] and
 *   assign[B,N,S] fp32; fp32 accumulation. S > 64 is OVSEG_ERR_UNSUPPORTED.
 *
 * One pass over the tokens (kernel slot_pass), 256 threads per block, tiles of TT = 32 tokens.
 * The slot dimension is padded to SB = 16 (S <= 16) or SB = 64 (S <= 64), so one block always
 * sees every slot of a token and the softmax over slots never leaves the block:
 *   1. logits tile [32 tokens x SB slots] = k_tile . q^T with the common.cuh tile GEMM over d in
 *      32-wide slices; the slot queries stream through shared memory slice by slice (d is
 *      unbounded, so q is not pinned whole; for d = 256 it is 8 slices of q, L1/L2 resident).
 *      Micro tiles 2x4 (SB=64) or 2x1 (SB=16), strided as in common.cuh.
 *   2. softmax (or first-max one-hot) per token: one warp per token row, lanes own slots lane
 *      and lane+32; max / sum / min-index by shuffles; padded slots (s >= S) and padded tokens
 *      (n >= N) get a = 0 so they contribute nothing below. assign is written here, coalesced
 *      over s (only by the blocks of dv group 0, see below).
 *   3. partial column sums sum_n a[n,s] (threads s < SB, kept in a register across the block's
 *      tiles) and partial updates U[s,e] = sum_n a[n,s] v[n,e]: for each 64-wide chunk of dv
 *      the v tile [32 x 64] is staged in shared memory and each thread owns a (SB/16) x 4
 *      strided micro tile of U (256 threads = 16 x 16). The block accumulates U in its own
 *      slice of a scratch buffer (read-modify-write by the owning thread only; the first tile
 *      stores), so the result is deterministic (no float atomics).
 * Grid: B x G x H blocks. G token groups per batch (block g handles tiles g, g+G, ...),
 *   G = min(ceil(N/32), max(1, 256/B)) bounds the scratch to G*S*(dv+1) floats per batch;
 *   H dv groups (block h handles dv chunks h, h+H, ...) add parallelism when B*G is small
 *   (B=1, N=784: G = 25, H = min(ceil(dv/64), ceil(264/25)) = 4 for dv = 256 -> 100 blocks);
 *   each dv group recomputes steps 1-2 for its tokens, which is cheap next to the parallelism
 *   gained. Shared memory (SB=64): 32*33 + 32*65 + 32*65 + 32*64 floats = 29 KB, static.
 * Kernel slot_combine: updates[b,s,e] = sum_g U_g[s,e] / (sum_g colsum_g[s] + eps), one thread
 *   per output element (consecutive threads -> consecutive e).
 * A slot with sum_n a + eps == 0 gets zero updates (as on the CPU). eps < 0 or NaN and a
 *   non-finite scale are OVSEG_ERR_INVALID_ARGUMENT (as on the CPU).
 * Zero sizes: B or S == 0: nothing to write; N == 0: updates = 0 (memset), assign empty;
 *   dv == 0: only assign; d == 0: every logit is 0 (uniform softmax / slot 0 when hard).
 */
#include <math.h>

#include "common.cuh"

namespace ovseg_cuda {
namespace {

constexpr int SA_THREADS = 256;
constexpr int TT = 32;  /* tokens per tile */
constexpr int DVC = 64; /* dv columns per chunk */
constexpr int SA_BK = 32;
constexpr int64_t kMaxGrid = 2147483647ll;

template <int SB>
struct SlotGeom {
    static constexpr int TM = 2;
    static constexpr int TN = SB / 16; /* 4 for SB=64, 1 for SB=16 */
    using LT = Tile<TT, SB, SA_BK, TM, TN>;
    static_assert(LT::THREADS == SA_THREADS, "logits tile must use the whole block");
    static constexpr int L_PITCH = SB + 1;
    static constexpr int UM = SB / 16; /* slot rows per thread in step 3 */
    static constexpr int UN = DVC / 16;
};

template <typename TV, int SB>
__global__ void __launch_bounds__(SA_THREADS)
slot_pass(const TV *__restrict__ q, const TV *__restrict__ k, const TV *__restrict__ v,
          int64_t S, int64_t N, int64_t d, int64_t dv, float scale, int hard, int64_t G,
          int64_t H, float *__restrict__ assign, float *__restrict__ Upart,
          float *__restrict__ Cpart) {
    using Geo = SlotGeom<SB>;
    using LT = typename Geo::LT;
    __shared__ float As[SA_BK * LT::A_PITCH];
    __shared__ float Bs[SA_BK * LT::B_PITCH];
    __shared__ float Ls[TT * Geo::L_PITCH];
    __shared__ float Vs[TT * DVC];

    int64_t idx = blockIdx.x;
    const int64_t h = idx % H;
    idx /= H;
    const int64_t g = idx % G;
    const int64_t b = idx / G;

    const TV *qb = q + b * S * d;
    const TV *kb = k + b * N * d;
    const TV *vb = v + b * N * dv;
    float *Ub = Upart + (b * G + g) * S * dv;

    const int tid = threadIdx.x;
    const int warp = tid / 32, lane = tid % 32;
    const int64_t ntiles = cdiv(N, TT);
    const int64_t nchunks = cdiv(dv, DVC);
    float colsum = 0.f; /* meaningful in threads tid < SB */

    auto la = [=](int64_t n, int64_t e) { return ldf(kb, n * d + e); };
    auto lb = [=](int64_t s, int64_t e) { return ldf(qb, s * d + e); };

    for (int64_t t = g; t < ntiles; t += G) {
        const int64_t n0 = t * TT;
        const bool first = (t == g);
        __syncthreads(); /* previous tile's readers of Ls/Vs are done */

        /* 1. logits */
        float acc[Geo::TM][Geo::TN];
        nt_gemm_tile<TT, SB, SA_BK, Geo::TM, Geo::TN>(la, lb, n0, N, 0, S, 0, d, acc, As, Bs);
        {
            const int tx = tid % LT::TX, ty = tid / LT::TX;
#pragma unroll
            for (int i = 0; i < Geo::TM; ++i)
#pragma unroll
                for (int j = 0; j < Geo::TN; ++j)
                    Ls[(ty + i * LT::TY) * Geo::L_PITCH + tx + j * LT::TX] = acc[i][j] * scale;
        }
        __syncthreads();

        /* 2. softmax / one-hot over slots, one warp per token row */
        for (int r = warp; r < TT; r += SA_THREADS / 32) {
            const int64_t n = n0 + r;
            float *row = Ls + r * Geo::L_PITCH;
            const int s0 = lane, s1 = lane + 32;
            const bool in0 = s0 < SB, in1 = s1 < SB;         /* inside the padded row */
            const bool v0 = s0 < S && in0, v1 = s1 < S && in1; /* real slots */
            if (n >= N) { /* warp-uniform */
                if (in0) row[s0] = 0.f;
                if (in1) row[s1] = 0.f;
                continue;
            }
            const float x0 = v0 ? row[s0] : -INFINITY;
            const float x1 = v1 ? row[s1] : -INFINITY;
            float mx = fmaxf(x0, x1);
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
            float a0, a1;
            if (hard) {
                int cand = 1 << 30;
                if (v1 && x1 == mx) cand = s1;
                if (v0 && x0 == mx) cand = s0; /* s0 < s1: the smaller index wins */
#pragma unroll
                for (int o = 16; o > 0; o >>= 1) cand = min(cand, __shfl_xor_sync(0xffffffffu, cand, o));
                a0 = (s0 == cand) ? 1.f : 0.f;
                a1 = (s1 == cand) ? 1.f : 0.f;
            } else {
                const float e0 = v0 ? expf(x0 - mx) : 0.f;
                const float e1 = v1 ? expf(x1 - mx) : 0.f;
                float sum = e0 + e1;
#pragma unroll
                for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
                a0 = e0 / sum;
                a1 = e1 / sum;
            }
            if (!v0) a0 = 0.f;
            if (!v1) a1 = 0.f;
            if (in0) row[s0] = a0;
            if (in1) row[s1] = a1;
            if (assign != nullptr && h == 0) {
                float *arow = assign + (b * N + n) * S;
                if (v0) arow[s0] = a0;
                if (v1) arow[s1] = a1;
            }
        }
        __syncthreads();

        /* 3a. partial column sums (dv group 0 owns them) */
        if (tid < SB) {
            float cs = 0.f;
#pragma unroll 8
            for (int r = 0; r < TT; ++r) cs += Ls[r * Geo::L_PITCH + tid];
            colsum += cs;
        }

        /* 3b. partial updates, chunk by chunk of dv */
        const int ux = tid % 16, uy = tid / 16;
        for (int64_t ch = h; ch < nchunks; ch += H) {
            const int64_t e0 = ch * DVC;
            for (int i = tid; i < TT * DVC; i += SA_THREADS) {
                const int r = i / DVC, c = i % DVC;
                const int64_t n = n0 + r, e = e0 + c;
                Vs[i] = (n < N && e < dv) ? ldf(vb, n * dv + e) : 0.f;
            }
            __syncthreads();
            float u[Geo::UM][Geo::UN];
#pragma unroll
            for (int i = 0; i < Geo::UM; ++i)
#pragma unroll
                for (int j = 0; j < Geo::UN; ++j) u[i][j] = 0.f;
#pragma unroll 4
            for (int r = 0; r < TT; ++r) {
                float a[Geo::UM], x[Geo::UN];
#pragma unroll
                for (int i = 0; i < Geo::UM; ++i) a[i] = Ls[r * Geo::L_PITCH + uy + i * 16];
#pragma unroll
                for (int j = 0; j < Geo::UN; ++j) x[j] = Vs[r * DVC + ux + j * 16];
#pragma unroll
                for (int i = 0; i < Geo::UM; ++i)
#pragma unroll
                    for (int j = 0; j < Geo::UN; ++j) u[i][j] = fmaf(a[i], x[j], u[i][j]);
            }
#pragma unroll
            for (int i = 0; i < Geo::UM; ++i) {
                const int64_t s = uy + i * 16;
                if (s >= S) continue;
#pragma unroll
                for (int j = 0; j < Geo::UN; ++j) {
                    const int64_t e = e0 + ux + j * 16;
                    if (e >= dv) continue;
                    float *dst = Ub + s * dv + e;
                    *dst = first ? u[i][j] : *dst + u[i][j];
                }
            }
            __syncthreads(); /* Vs is overwritten by the next chunk */
        }
    }
    if (h == 0 && tid < S) Cpart[(b * G + g) * S + tid] = colsum;
}

__global__ void slot_combine(const float *__restrict__ Upart, const float *__restrict__ Cpart,
                             int64_t B, int64_t S, int64_t dv, int64_t G, float eps,
                             float *__restrict__ updates) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B * S * dv) return;
    const int64_t e = i % dv;
    const int64_t s = (i / dv) % S;
    const int64_t b = i / (dv * S);
    float u = 0.f, c = 0.f;
    for (int64_t g = 0; g < G; ++g) {
        u += Upart[((b * G + g) * S + s) * dv + e];
        c += Cpart[(b * G + g) * S + s];
    }
    /* Like the CPU twin: a slot with no mass (hard mode, or eps = 0) gets zero updates, not 0/0. */
    const float mass = c + eps;
    updates[i] = mass > 0.f ? u / mass : 0.f;
}

template <typename TV>
int launch_typed(const void *q, const void *k, const void *v, int64_t B, int64_t S, int64_t N,
                 int64_t d, int64_t dv, float scale, int hard, float *assign, float *Upart,
                 float *Cpart, int64_t G, int64_t H, cudaStream_t stream) {
    const unsigned blocks = (unsigned)(B * G * H);
    if (S <= 16)
        slot_pass<TV, 16><<<blocks, SA_THREADS, 0, stream>>>(
            (const TV *)q, (const TV *)k, (const TV *)v, S, N, d, dv, scale, hard, G, H, assign,
            Upart, Cpart);
    else
        slot_pass<TV, 64><<<blocks, SA_THREADS, 0, stream>>>(
            (const TV *)q, (const TV *)k, (const TV *)v, S, N, d, dv, scale, hard, G, H, assign,
            Upart, Cpart);
    OVSEG_LAUNCH_CHECK("slot_pass launch");
    return OVSEG_OK;
}

} // namespace
} // namespace ovseg_cuda

using namespace ovseg_cuda;

extern "C" int ovseg_cuda_slot_attention(int dtype, const void *q, const void *k, const void *v,
                                         int64_t B, int64_t S, int64_t N, int64_t d, int64_t dv,
                                         float scale, float eps, int hard, float *updates,
                                         float *assign, void *stream_) {
    if (!valid_dtype(dtype)) {
        set_error("ovseg_cuda_slot_attention: unknown dtype %d", dtype);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (B < 0 || S < 0 || N < 0 || d < 0 || dv < 0) {
        set_error("ovseg_cuda_slot_attention: negative size (B %lld, S %lld, N %lld, d %lld, "
                  "dv %lld)",
                  (long long)B, (long long)S, (long long)N, (long long)d, (long long)dv);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    /* Like the CPU twin: a tensor may be NULL only when it has no elements. */
    if ((B * S * d > 0 && q == nullptr) || (B * N * d > 0 && k == nullptr) ||
        (B * N * dv > 0 && v == nullptr) || (B * S * dv > 0 && updates == nullptr)) {
        set_error("ovseg_cuda_slot_attention: q, k, v or updates is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (!(eps >= 0.f) || !isfinite(scale)) {
        set_error("ovseg_cuda_slot_attention: eps must be >= 0 and scale finite (eps %g, scale %g)",
                  (double)eps, (double)scale);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (S > 64) {
        set_error("ovseg_cuda_slot_attention: S = %lld > 64 slots is not supported on the GPU",
                  (long long)S);
        return OVSEG_ERR_UNSUPPORTED;
    }
    cudaStream_t stream = (cudaStream_t)stream_;
    if (B == 0 || S == 0) return OVSEG_OK;
    if (N == 0) { /* no tokens: every update is an empty sum */
        if (dv > 0)
            OVSEG_CUDA_CHECK(
                cudaMemsetAsync(updates, 0, (size_t)(B * S * dv) * sizeof(float), stream));
        return OVSEG_OK;
    }
    if (dv == 0 && assign == nullptr) return OVSEG_OK;
    if (scale <= 0.f) scale = d > 0 ? 1.f / sqrtf((float)d) : 1.f;

    const int64_t ntiles = cdiv(N, TT);
    int64_t G = 256 / B;
    if (G < 1) G = 1;
    if (G > ntiles) G = ntiles;
    const int64_t nchunks = cdiv(dv, DVC);
    int64_t H = cdiv(264, B * G);
    if (H > nchunks) H = nchunks;
    if (H < 1) H = 1;
    if (B * G * H > kMaxGrid || cdiv(B * S * dv, 256) > kMaxGrid) {
        set_error("ovseg_cuda_slot_attention: problem too large for one grid");
        return OVSEG_ERR_UNSUPPORTED;
    }

    const size_t u_floats = (size_t)(B * G * S * dv);
    const size_t c_floats = (size_t)(B * G * S);
    void *ws = nullptr;
    int st = ws_alloc(&ws, (u_floats + c_floats) * sizeof(float), stream);
    if (st != OVSEG_OK) return st;
    float *Upart = (float *)ws;
    float *Cpart = Upart + u_floats;
    switch (dtype) {
    case OVSEG_F32:
        st = launch_typed<float>(q, k, v, B, S, N, d, dv, scale, hard, assign, Upart, Cpart, G, H,
                                 stream);
        break;
    case OVSEG_F16:
        st = launch_typed<__half>(q, k, v, B, S, N, d, dv, scale, hard, assign, Upart, Cpart, G,
                                  H, stream);
        break;
    default:
        st = launch_typed<__nv_bfloat16>(q, k, v, B, S, N, d, dv, scale, hard, assign, Upart,
                                         Cpart, G, H, stream);
        break;
    }
    if (st == OVSEG_OK && dv > 0) {
        const int64_t total = B * S * dv;
        slot_combine<<<(unsigned)cdiv(total, 256), 256, 0, stream>>>(Upart, Cpart, B, S, dv, G,
                                                                    eps, updates);
        st = launch_status("slot_combine launch");
    }
    const int st_free = ws_free(ws, stream);
    return st != OVSEG_OK ? st : st_free;
}
