/*
 * Fully connected CRF, mean-field inference (CLIP-as-RNN's post-processing), the CUDA twin of
 * ovseg_cpu_dense_crf (native/src/dense_crf.cpp).
 *
 * Math (ovseg.h):
 *   Q = softmax_l(-U);  `iterations` times:
 *     Q = softmax_l(-U + sum_k w_k * n_k (.) K_k (n_k (.) Q)),   n_k = (K_k 1)^-1/2
 *   K_k: a unit Gaussian over f = (x, y)/gauss_sxy (d = 2, w = gauss_compat) or
 *   (x/bilat_sxy, y/bilat_sxy, r/bilat_srgb, g/bilat_srgb, b/bilat_srgb) (d = 5, bilat_compat),
 *   self term included, applied with the permutohedral lattice exactly as the CPU twin does:
 *     splat  V[v]  = sum_{(p,r): vertex(p,r) = v} bary[p,r] * x[p]
 *     blur   for j = 0..d:  V'[v] = V[v] + 0.5 (V[n_j-(v)] + V[n_j+(v)])    (absent vertex: 0)
 *     slice  y[p]  = sum_r (bary[p,r] * alpha) * V[vertex(p,r)],   alpha = 1/(1 + 2^-d)
 *   softmax: max-subtracted expf, sum in double, one reciprocal (as densecrf's expAndNormalize).
 *
 * Shapes / layout: unary[L,H,W] fp32, rgb[H,W,3] uint8, q_out[L,H,W] fp32, all device memory.
 * Internally pixel-major [N = H*W, L] (one pixel's labels contiguous) like the CPU twin; the
 * lattice values are [M+1, L] with slot 0 a permanent zero row standing for absent vertices, so
 * vertex v lives in slot v+1 (offsets and neighbour indices are stored as slots).
 *
 * The lattice is built on the host with the CPU twin's own code (native/src/crf_lattice.h), so
 * both twins filter with the same vertices, weights and neighbour table. That needs the colours
 * on the host: when the bilateral term is on, rgb is copied back (3*H*W bytes) and the stream
 * synchronised once; the call then returns after queueing the iterations. The splat is turned
 * into a gather by a CSR transpose built on the host (per vertex, its (pixel, weight) pairs in
 * ascending pixel order), which is the CPU's summation order: no atomics, deterministic.
 *
 * Kernels (on the caller's stream), all 1-D grid-stride loops of CRF_THREADS = 256 threads,
 * grid = min(ceil(n / 256), 2^20) blocks:
 *   crf_softmax<FROM_UNARY, TO_OUT>   one thread per pixel (n = N); reads -U (label-major
 *                                     unary, coalesced across pixels) or acc (pixel-major);
 *                                     writes Q (pixel-major) or q_out (label-major, coalesced).
 *   crf_splat     one thread per (vertex, label) (n = M*L, label fastest: consecutive threads read
 *                 consecutive labels of one pixel); gathers its CSR list; x = Q * n (or 1 for the
 *                 normaliser).
 *   crf_blur      one thread per (vertex, label), d+1 launches ping-ponging two value buffers.
 *   crf_slice<NORM>  one thread per (pixel, label) (n = N*L): the d+1 weighted vertex values;
 *                 NORM: n[p] = 1/sqrt(double(y) + 1e-20) (L = 1); otherwise
 *                 acc = base + (w * n[p]) * y with base = -U for the first term, acc after.
 *   Per iteration: (1 splat + (d+1) blurs + 1 slice) per term + 1 softmax; the normalisers take
 *   the same path once per term with L = 1 and ones as input.
 * Products are rounded separately (__fmul_rn/__fadd_rn, no FMA contraction) so that every sum
 * is the CPU twin's expression in the CPU twin's order; the remaining differences are expf's
 * and sqrt's last bits (and the thread pool never reorders sums on the CPU either). Harness
 * tolerance on the marginals: |gpu - cpu| <= 1e-4 (expected far tighter).
 *
 * Scratch (one stream-ordered allocation): per term offsets/weights [N, d+1] x2, CSR
 * [M+1] + [N, d+1] x2, neighbours [d+1, M, 2], normaliser [N]; shared -U, Q, acc [N, L] and two
 * value buffers [(M+1), L].
 * Limits: the lattice indices are int32 on the device: N * 6 + 1 (N * 3 + 1 without the
 * bilateral term) must fit, else OVSEG_ERR_UNSUPPORTED. The host-side lattice build is serial and
 * costs the same as on the CPU twin. iterations == 0 or both compats 0: one softmax kernel,
 * no host work, fully asynchronous.
 */
#include <math.h>

#include <cstring>
#include <new>
#include <vector>

#include "common.cuh"
/* Host code shared with the CPU twin; kept out of libovseg_cuda.so's dynamic symbol table. */
#pragma GCC visibility push(hidden)
#include "crf_lattice.h"
#pragma GCC visibility pop

namespace ovseg_cuda {
namespace {

constexpr int CRF_THREADS = 256;

/* Softmax over one pixel's labels. FROM_UNARY: x[l] = -unary[l*N + p] (also stored to negU when
 * it is not NULL); else x[l] = src[p*L + l]. TO_OUT: dst[l*N + p]; else dst[p*L + l]. */
template <bool FROM_UNARY, bool TO_OUT>
__global__ void __launch_bounds__(CRF_THREADS)
crf_softmax(const float *__restrict__ src, int64_t N, int64_t L, float *__restrict__ negU,
            float *__restrict__ dst) {
    OVSEG_GRID_STRIDE(p, N) {
        auto x = [&](int64_t l) { return FROM_UNARY ? -src[l * N + p] : src[p * L + l]; };
        float mx = x(0);
        if (FROM_UNARY && negU) negU[p * L] = mx;
        for (int64_t l = 1; l < L; ++l) {
            const float v = x(l);
            if (FROM_UNARY && negU) negU[p * L + l] = v;
            if (mx < v) mx = v;
        }
        double sum = 0;
        for (int64_t l = 0; l < L; ++l) sum += (double)expf(x(l) - mx);
        const float inv = (float)(1.0 / sum);
        for (int64_t l = 0; l < L; ++l) {
            const float q = __fmul_rn(expf(x(l) - mx), inv);
            if (TO_OUT) dst[l * N + p] = q;
            else dst[p * L + l] = q;
        }
    }
}

/* values[(v+1)*L + c] = sum over v's CSR entries k (ascending pixel) of wt[k] * x[pix[k], c],
 * x = in * norm, or 1 when in == NULL. */
__global__ void __launch_bounds__(CRF_THREADS)
crf_splat(const int32_t *__restrict__ start, const int32_t *__restrict__ pix,
          const float *__restrict__ wt, const float *__restrict__ in, const float *__restrict__ norm,
          int64_t M, int64_t L, float *__restrict__ values) {
    OVSEG_GRID_STRIDE(i, M * L) {
        const int64_t v = i / L, c = i - v * L;
        float acc = 0.f;
        const int32_t k1 = start[v + 1];
        for (int32_t k = start[v]; k < k1; ++k) {
            const int64_t p = pix[k];
            const float x = in ? __fmul_rn(in[p * L + c], norm[p]) : 1.f;
            acc = __fadd_rn(acc, __fmul_rn(wt[k], x));
        }
        values[(v + 1) * L + c] = acc;
    }
}

/* One blur pass along a lattice axis; nb[v*2], nb[v*2+1]: the two neighbours' slots (0 = absent). */
__global__ void __launch_bounds__(CRF_THREADS)
crf_blur(const int32_t *__restrict__ nb, const float *__restrict__ src, int64_t M, int64_t L,
         float *__restrict__ dst) {
    OVSEG_GRID_STRIDE(i, M * L) {
        const int64_t v = i / L, c = i - v * L;
        const float a = src[(v + 1) * L + c];
        const float lo = src[(int64_t)nb[v * 2] * L + c], hi = src[(int64_t)nb[v * 2 + 1] * L + c];
        dst[(v + 1) * L + c] = __fadd_rn(a, __fmul_rn(0.5f, __fadd_rn(lo, hi)));
    }
}

/* y = sum_r (bary[p,r] * alpha) * values[slot(p,r), c].
 * NORM (L = 1): out[p] = 1 / sqrt(double(y) + 1e-20).
 * else: out[p*L + c] = base[p*L + c] + (compat * norm[p]) * y   (base may be out). */
template <bool NORM>
__global__ void __launch_bounds__(CRF_THREADS)
crf_slice(const int32_t *__restrict__ off, const float *__restrict__ bary, int d1, float alpha,
          const float *__restrict__ values, int64_t N, int64_t L, const float *__restrict__ norm,
          float compat, const float *base, float *out) {
    OVSEG_GRID_STRIDE(i, N * L) {
        const int64_t p = i / L, c = i - p * L;
        float y = 0.f;
        for (int r = 0; r < d1; ++r) {
            const float w = __fmul_rn(bary[p * d1 + r], alpha);
            y = __fadd_rn(y, __fmul_rn(w, values[(int64_t)off[p * d1 + r] * L + c]));
        }
        if (NORM) {
            out[p] = (float)(1.0 / sqrt((double)y + 1e-20));
        } else {
            const float s = __fmul_rn(compat, norm[p]);
            out[i] = __fadd_rn(base[i], __fmul_rn(s, y));
        }
    }
}

/* Byte layout of one scratch allocation, each section 256-byte aligned. */
struct Carve {
    size_t bytes = 0;
    size_t take(size_t n) {
        const size_t at = bytes;
        bytes += (n + 255) / 256 * 256;
        return at;
    }
};

/* One pairwise term as the device sees it: byte offsets into the upload blob / the scratch. */
struct Term {
    int d1 = 0;
    int64_t M = 0;
    float compat = 0, alpha = 0;
    size_t off, bary, start, pix, wt, nb; /* in the uploaded blob */
    size_t norm;                          /* in the scratch (device-computed) */
};

/* Appends term t's arrays (int32 slots, CSR transpose) to the host blob. */
void pack_term(const ovseg::crf::LatticeGraph &g, Term &t, std::vector<unsigned char> &blob) {
    const int64_t N = g.N, M = g.M, d1 = g.d + 1, E = N * d1;
    auto put = [&](size_t at, const void *src, size_t n) { std::memcpy(blob.data() + at, src, n); };
    std::vector<int32_t> i32((size_t)E);
    for (int64_t e = 0; e < E; ++e) i32[(size_t)e] = (int32_t)(g.offset[(size_t)e] + 1);
    put(t.off, i32.data(), (size_t)E * 4);
    put(t.bary, g.bary.data(), (size_t)E * 4);
    /* CSR: per vertex, its (pixel, weight) entries in ascending pixel order */
    std::vector<int32_t> start((size_t)M + 1, 0);
    for (int64_t e = 0; e < E; ++e) ++start[(size_t)g.offset[(size_t)e] + 1];
    for (int64_t v = 0; v < M; ++v) start[(size_t)v + 1] += start[(size_t)v];
    std::vector<int32_t> fill(start.begin(), start.end() - 1), pix((size_t)E);
    std::vector<float> wt((size_t)E);
    for (int64_t e = 0; e < E; ++e) {
        const int32_t k = fill[(size_t)g.offset[(size_t)e]]++;
        pix[(size_t)k] = (int32_t)(e / d1);
        wt[(size_t)k] = g.bary[(size_t)e];
    }
    put(t.start, start.data(), (size_t)(M + 1) * 4);
    put(t.pix, pix.data(), (size_t)E * 4);
    put(t.wt, wt.data(), (size_t)E * 4);
    std::vector<int32_t> nb((size_t)(d1 * M * 2));
    for (size_t k = 0; k < nb.size(); ++k) nb[k] = (int32_t)(g.neighbours[k] + 1);
    put(t.nb, nb.data(), nb.size() * 4);
}

/* values = lattice-filter(in * norm) up to the slice: splat then d+1 blurs. Returns the buffer
 * holding the result (a or b). */
int splat_blur(const Term &t, const unsigned char *dev, const float *in, const float *norm,
               int64_t L, float *a, float *b, cudaStream_t stream, float **result) {
    const int64_t ML = t.M * L;
    const unsigned grid = grid_stride_blocks(ML, CRF_THREADS);
    crf_splat<<<grid, CRF_THREADS, 0, stream>>>((const int32_t *)(dev + t.start),
                                                (const int32_t *)(dev + t.pix),
                                                (const float *)(dev + t.wt), in, norm, t.M, L, a);
    OVSEG_LAUNCH_CHECK("crf_splat launch");
    for (int j = 0; j < t.d1; ++j) {
        crf_blur<<<grid, CRF_THREADS, 0, stream>>>((const int32_t *)(dev + t.nb) + (int64_t)j * t.M * 2,
                                                   a, t.M, L, b);
        OVSEG_LAUNCH_CHECK("crf_blur launch");
        float *s = a;
        a = b;
        b = s;
    }
    *result = a;
    return OVSEG_OK;
}

int run_crf(const float *unary, const uint8_t *rgb, int64_t L, int64_t H, int64_t W,
            float gauss_sxy, float gauss_compat, float bilat_sxy, float bilat_srgb,
            float bilat_compat, int iterations, float *q_out, cudaStream_t stream) {
    const int64_t N = H * W;
    const bool use_gauss = gauss_compat != 0.0f, use_bilat = bilat_compat != 0.0f;
    if (iterations == 0 || (!use_gauss && !use_bilat)) {
        crf_softmax<true, true><<<grid_stride_blocks(N, CRF_THREADS), CRF_THREADS, 0, stream>>>(
            unary, N, L, nullptr, q_out);
        OVSEG_LAUNCH_CHECK("crf_softmax launch");
        return OVSEG_OK;
    }
    const int64_t dmax = use_bilat ? 5 : 2;
    if (N > (int64_t)(2147483647 - 1) / (dmax + 1)) {
        set_error("ovseg_cuda_dense_crf: %lld pixels exceed the int32 lattice indices", (long long)N);
        return OVSEG_ERR_UNSUPPORTED;
    }

    /* Host: features and lattices, exactly the CPU twin's construction. */
    std::vector<ovseg::crf::LatticeGraph> graphs;
    std::vector<float> compat;
    std::vector<float> f;
    if (use_gauss) {
        if (!ovseg::crf::gauss_features(H, W, gauss_sxy, f)) {
            set_error("ovseg_cuda_dense_crf: gauss_sxy too small for the lattice keys");
            return OVSEG_ERR_INVALID_ARGUMENT;
        }
        graphs.emplace_back();
        graphs.back().build(f.data(), N, 2);
        compat.push_back(gauss_compat);
    }
    if (use_bilat) {
        std::vector<uint8_t> h_rgb((size_t)N * 3);
        OVSEG_CUDA_CHECK(cudaMemcpyAsync(h_rgb.data(), rgb, (size_t)N * 3, cudaMemcpyDeviceToHost, stream));
        OVSEG_CUDA_CHECK(cudaStreamSynchronize(stream));
        if (!ovseg::crf::bilateral_features(h_rgb.data(), H, W, bilat_sxy, bilat_srgb, f)) {
            set_error("ovseg_cuda_dense_crf: bilat_sxy or bilat_srgb too small for the lattice keys");
            return OVSEG_ERR_INVALID_ARGUMENT;
        }
        graphs.emplace_back();
        graphs.back().build(f.data(), N, 5);
        compat.push_back(bilat_compat);
    }
    std::vector<float>().swap(f);

    /* Layout: the uploaded blob first, then the device-only buffers. */
    Carve cv;
    std::vector<Term> terms(graphs.size());
    int64_t Mmax = 0;
    for (size_t k = 0; k < graphs.size(); ++k) {
        const ovseg::crf::LatticeGraph &g = graphs[k];
        Term &t = terms[k];
        t.d1 = g.d + 1;
        t.M = g.M;
        t.compat = compat[k];
        t.alpha = g.alpha();
        const size_t E = (size_t)(N * t.d1);
        t.off = cv.take(E * 4);
        t.bary = cv.take(E * 4);
        t.start = cv.take((size_t)(g.M + 1) * 4);
        t.pix = cv.take(E * 4);
        t.wt = cv.take(E * 4);
        t.nb = cv.take((size_t)(t.d1 * g.M * 2) * 4);
        if (g.M > Mmax) Mmax = g.M;
    }
    const size_t blob_bytes = cv.bytes;
    for (Term &t : terms) t.norm = cv.take((size_t)N * 4);
    const size_t NL = (size_t)(N * L);
    const size_t o_negU = cv.take(NL * 4), o_Q = cv.take(NL * 4), o_acc = cv.take(NL * 4);
    const size_t VL = (size_t)((Mmax + 1) * L);
    const size_t o_va = cv.take(VL * 4), o_vb = cv.take(VL * 4);

    std::vector<unsigned char> blob(blob_bytes);
    for (size_t k = 0; k < graphs.size(); ++k) pack_term(graphs[k], terms[k], blob);
    std::vector<ovseg::crf::LatticeGraph>().swap(graphs);

    void *ws = nullptr;
    int st = ws_alloc(&ws, cv.bytes, stream);
    if (st != OVSEG_OK) return st;
    unsigned char *dev = (unsigned char *)ws;
    float *negU = (float *)(dev + o_negU), *Q = (float *)(dev + o_Q), *acc = (float *)(dev + o_acc);
    float *va = (float *)(dev + o_va), *vb = (float *)(dev + o_vb);

    auto body = [&]() -> int {
        /* pageable source: returns once staged, so blob may be freed after the call */
        OVSEG_CUDA_CHECK(cudaMemcpyAsync(dev, blob.data(), blob_bytes, cudaMemcpyHostToDevice, stream));
        /* slot 0 of both value buffers is the zero row, never written by the kernels; with L = 1
         * (the normalisers) it is element 0 */
        OVSEG_CUDA_CHECK(cudaMemsetAsync(va, 0, 4, stream));
        OVSEG_CUDA_CHECK(cudaMemsetAsync(vb, 0, 4, stream));
        crf_softmax<true, false><<<grid_stride_blocks(N, CRF_THREADS), CRF_THREADS, 0, stream>>>(
            unary, N, L, negU, Q);
        OVSEG_LAUNCH_CHECK("crf_softmax launch");
        float *vals = nullptr;
        for (const Term &t : terms) { /* normalisers n = (K 1)^-1/2 */
            int s = splat_blur(t, dev, nullptr, nullptr, 1, va, vb, stream, &vals);
            if (s != OVSEG_OK) return s;
            crf_slice<true><<<grid_stride_blocks(N, CRF_THREADS), CRF_THREADS, 0, stream>>>(
                (const int32_t *)(dev + t.off), (const float *)(dev + t.bary), t.d1, t.alpha, vals, N,
                1, nullptr, 0.f, nullptr, (float *)(dev + t.norm));
            OVSEG_LAUNCH_CHECK("crf_slice launch");
        }
        /* with L labels slot 0 is elements [0, L), which the normalisers' values overwrote */
        OVSEG_CUDA_CHECK(cudaMemsetAsync(va, 0, (size_t)L * 4, stream));
        OVSEG_CUDA_CHECK(cudaMemsetAsync(vb, 0, (size_t)L * 4, stream));
        const unsigned gridNL = grid_stride_blocks(N * L, CRF_THREADS);
        for (int it = 0; it < iterations; ++it) {
            for (size_t k = 0; k < terms.size(); ++k) {
                const Term &t = terms[k];
                const float *norm = (const float *)(dev + t.norm);
                int s = splat_blur(t, dev, Q, norm, L, va, vb, stream, &vals);
                if (s != OVSEG_OK) return s;
                crf_slice<false><<<gridNL, CRF_THREADS, 0, stream>>>(
                    (const int32_t *)(dev + t.off), (const float *)(dev + t.bary), t.d1, t.alpha, vals,
                    N, L, norm, t.compat, k == 0 ? negU : acc, acc);
                OVSEG_LAUNCH_CHECK("crf_slice launch");
            }
            if (it + 1 < iterations)
                crf_softmax<false, false><<<grid_stride_blocks(N, CRF_THREADS), CRF_THREADS, 0, stream>>>(
                    acc, N, L, nullptr, Q);
            else
                crf_softmax<false, true><<<grid_stride_blocks(N, CRF_THREADS), CRF_THREADS, 0, stream>>>(
                    acc, N, L, nullptr, q_out);
            OVSEG_LAUNCH_CHECK("crf_softmax launch");
        }
        return OVSEG_OK;
    };
    st = body();
    const int st_free = ws_free(ws, stream);
    return st != OVSEG_OK ? st : st_free;
}

} // namespace
} // namespace ovseg_cuda

using namespace ovseg_cuda;

extern "C" int ovseg_cuda_dense_crf(const float *unary, const uint8_t *rgb, int64_t L, int64_t H,
                                    int64_t W, float gauss_sxy, float gauss_compat, float bilat_sxy,
                                    float bilat_srgb, float bilat_compat, int iterations,
                                    float *q_out, void *stream_) {
    const char *why = "";
    const int st = ovseg::crf::check_arguments(L, H, W, gauss_sxy, gauss_compat, bilat_sxy, bilat_srgb,
                                               bilat_compat, iterations, &why);
    if (st != OVSEG_OK) {
        set_error("ovseg_cuda_dense_crf: %s", why);
        return st;
    }
    if (H * W * L == 0) return OVSEG_OK;
    if (!unary || !rgb || !q_out) {
        set_error("ovseg_cuda_dense_crf: unary, rgb or q_out is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    try {
        return run_crf(unary, rgb, L, H, W, gauss_sxy, gauss_compat, bilat_sxy, bilat_srgb, bilat_compat,
                       iterations, q_out, (cudaStream_t)stream_);
    } catch (const std::bad_alloc &) {
        set_error("ovseg_cuda_dense_crf: host allocation failed (lattice construction)");
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
}
