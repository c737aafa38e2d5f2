// Fully connected CRF (Krähenbühl & Koltun 2011) with the conventions of densecrf/pydensecrf,
// as CLIP-as-RNN calls it (DenseCRF2D + addPairwiseGaussian + addPairwiseBilateral + inference):
//
//   Q = softmax(-U);  repeat: Q = softmax(-U + Σ_k w_k · n_k ⊙ K_k (n_k ⊙ Q)),  n_k = (K_k 1)^-½
//
// K_k is a Gaussian over the features f = (x/sxy, y/sxy) or (x/sxy, y/sxy, r/srgb, g/srgb,
// b/srgb), applied approximately by the permutohedral lattice (Adams, Baek & Davis 2010):
// splat with barycentric weights, one [1/2 1 1/2] blur along each of the d+1 lattice axes,
// slice scaled by 1/(1 + 2^-d). As in densecrf the filter keeps the self term (j = i) and the
// kernel is normalised symmetrically (NORMALIZE_SYMMETRIC, the default of both add* calls),
// which also cancels the lattice's overall scale. Potts compatibility with weight w subtracts
// -w · filtered, i.e. adds w · filtered to the negative energy.
//
// Internally values are pixel-major ([N, L], one pixel's labels contiguous); the API is [L,H,W].
#include <algorithm>
#include <cmath>
#include <exception>
#include <vector>

#include "common.h"
#include "crf_lattice.h"
#include "thread_pool.h"

namespace {

constexpr int64_t kChunk = 2048;  // pixels or lattice points per parallel task

template <class Fn>
void parallel_range(int64_t n, Fn fn) {
    const int64_t tasks = (n + kChunk - 1) / kChunk;
    if (tasks <= 1) {
        if (n > 0) fn(int64_t{0}, n);
        return;
    }
    ovseg::parallel_for(tasks, [&](int64_t t, int) { fn(t * kChunk, std::min(n, (t + 1) * kChunk)); });
}

// The lattice (construction shared with the CUDA twin, crf_lattice.h) and its filter.
class Lattice {
public:
    // features: [N, d] row-major, already divided by the kernel's standard deviations.
    void init(const std::vector<float> &features, int64_t N, int d) {
        g_.build(features.data(), N, d);
        N_ = g_.N;
        M_ = g_.M;
        d_ = g_.d;
    }

    // out[N, vs] = lattice-filtered in[N, vs]. out may not alias in.
    void compute(const float *in, float *out, int64_t vs) const {
        const int d1 = d_ + 1;
        // Slot 0 is a permanent zero standing for vertices absent from the lattice.
        std::vector<float> values(static_cast<size_t>((M_ + 1) * vs), 0.0f), next(values.size(), 0.0f);
        for (int64_t p = 0; p < N_; ++p) {
            for (int r = 0; r < d1; ++r) {
                float *dst = values.data() + (g_.offset[p * d1 + r] + 1) * vs;
                const float w = g_.bary[p * d1 + r];
                for (int64_t c = 0; c < vs; ++c) dst[c] += w * in[p * vs + c];
            }
        }
        for (int j = 0; j < d1; ++j) {
            const float *src = values.data();
            float *dst = next.data();
            parallel_range(M_, [&](int64_t b, int64_t e) {
                for (int64_t v = b; v < e; ++v) {
                    const float *a = src + (v + 1) * vs;
                    const float *l = src + (g_.neighbours[(j * M_ + v) * 2] + 1) * vs;
                    const float *h = src + (g_.neighbours[(j * M_ + v) * 2 + 1] + 1) * vs;
                    float *o = dst + (v + 1) * vs;
                    for (int64_t c = 0; c < vs; ++c) o[c] = a[c] + 0.5f * (l[c] + h[c]);
                }
            });
            values.swap(next);
        }
        const float alpha = g_.alpha();
        parallel_range(N_, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) {
                float *o = out + p * vs;
                std::fill(o, o + vs, 0.0f);
                for (int r = 0; r < d1; ++r) {
                    const float *src = values.data() + (g_.offset[p * d1 + r] + 1) * vs;
                    const float w = g_.bary[p * d1 + r] * alpha;
                    for (int64_t c = 0; c < vs; ++c) o[c] += w * src[c];
                }
            }
        });
    }

private:
    ovseg::crf::LatticeGraph g_;
    int64_t N_ = 0, M_ = 0;
    int d_ = 0;
};

// A pairwise term: lattice plus the symmetric normalisation n = (K 1)^-1/2.
struct Pairwise {
    Lattice lattice;
    std::vector<float> norm;
    float compat;

    void init(const std::vector<float> &features, int64_t N, int d) {
        lattice.init(features, N, d);
        std::vector<float> ones(static_cast<size_t>(N), 1.0f);
        norm.resize(static_cast<size_t>(N));
        lattice.compute(ones.data(), norm.data(), 1);
        for (auto &v : norm) v = static_cast<float>(1.0 / std::sqrt(double(v) + 1e-20));
    }

    // acc += compat · n ⊙ K (n ⊙ Q); scratch holds two [N, L] buffers.
    void add(const std::vector<float> &Q, int64_t N, int64_t L, std::vector<float> &acc,
             std::vector<float> &scaled, std::vector<float> &filtered) const {
        for (int64_t p = 0; p < N; ++p)
            for (int64_t l = 0; l < L; ++l) scaled[p * L + l] = Q[p * L + l] * norm[p];
        lattice.compute(scaled.data(), filtered.data(), L);
        for (int64_t p = 0; p < N; ++p) {
            const float s = compat * norm[p];
            for (int64_t l = 0; l < L; ++l) acc[p * L + l] += s * filtered[p * L + l];
        }
    }
};

// Q[p, :] = softmax(x[p, :]) for every pixel (max-subtracted, as densecrf's expAndNormalize).
void softmax_rows(const std::vector<float> &x, std::vector<float> &Q, int64_t N, int64_t L) {
    parallel_range(N, [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
            const float *in = x.data() + p * L;
            float *out = Q.data() + p * L;
            const float mx = *std::max_element(in, in + L);
            double sum = 0;
            for (int64_t l = 0; l < L; ++l) sum += out[l] = std::exp(in[l] - mx);
            const float inv = static_cast<float>(1.0 / sum);
            for (int64_t l = 0; l < L; ++l) out[l] *= inv;
        }
    });
}

}  // namespace

OVSEG_API int ovseg_cpu_dense_crf(const float *unary, const uint8_t *rgb, int64_t L, int64_t H,
                                  int64_t W, float gauss_sxy, float gauss_compat, float bilat_sxy,
                                  float bilat_srgb, float bilat_compat, int iterations,
                                  float *q_out) {
    using namespace ovseg;
    const char *why = "";
    const int st = crf::check_arguments(L, H, W, gauss_sxy, gauss_compat, bilat_sxy, bilat_srgb,
                                        bilat_compat, iterations, &why);
    if (st != OVSEG_OK) return st;
    const bool use_gauss = gauss_compat != 0.0f, use_bilat = bilat_compat != 0.0f;
    const int64_t N = H * W;
    if (N * L == 0) return OVSEG_OK;
    if (!unary || !rgb || !q_out) return OVSEG_ERR_INVALID_ARGUMENT;
    try {
        const size_t NL = static_cast<size_t>(N * L);
        std::vector<float> negU(NL), Q(NL), acc(NL), scaled, filtered;
        for (int64_t l = 0; l < L; ++l)
            for (int64_t p = 0; p < N; ++p) negU[p * L + l] = -unary[l * N + p];
        softmax_rows(negU, Q, N, L);

        std::vector<Pairwise> terms;
        if (iterations > 0 && (use_gauss || use_bilat)) {
            scaled.resize(NL);
            filtered.resize(NL);
            std::vector<float> f;
            if (use_gauss) {
                if (!crf::gauss_features(H, W, gauss_sxy, f)) return OVSEG_ERR_INVALID_ARGUMENT;
                terms.emplace_back();
                terms.back().compat = gauss_compat;
                terms.back().init(f, N, 2);
            }
            if (use_bilat) {
                if (!crf::bilateral_features(rgb, H, W, bilat_sxy, bilat_srgb, f))
                    return OVSEG_ERR_INVALID_ARGUMENT;
                terms.emplace_back();
                terms.back().compat = bilat_compat;
                terms.back().init(f, N, 5);
            }
        }
        for (int it = 0; it < iterations && !terms.empty(); ++it) {
            acc = negU;
            for (const Pairwise &t : terms) t.add(Q, N, L, acc, scaled, filtered);
            softmax_rows(acc, Q, N, L);
        }
        for (int64_t l = 0; l < L; ++l)
            for (int64_t p = 0; p < N; ++p) q_out[l * N + p] = Q[p * L + l];
        return OVSEG_OK;
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    } catch (...) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
}
