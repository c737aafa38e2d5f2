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

// Open-addressing hash from a lattice key (d ints; the (d+1)-th coordinate is implied by the
// zero sum) to a dense vertex index.
class KeyTable {
public:
    KeyTable(int d, size_t expected) : d_(d) {
        size_t cap = 64;
        while (cap < 2 * expected) cap *= 2;
        table_.assign(cap, -1);
        keys_.reserve(expected * static_cast<size_t>(d));
    }
    int64_t size() const { return static_cast<int64_t>(keys_.size() / static_cast<size_t>(d_)); }
    const int32_t *key(int64_t i) const { return keys_.data() + i * d_; }

    // Index of key, or -1 when absent and !create.
    int64_t find(const int32_t *k, bool create) {
        if (create && 2 * static_cast<size_t>(size() + 1) > table_.size()) grow();
        const size_t mask = table_.size() - 1;
        for (size_t h = hash(k) & mask;; h = (h + 1) & mask) {
            const int64_t e = table_[h];
            if (e < 0) {
                if (!create) return -1;
                table_[h] = size();
                keys_.insert(keys_.end(), k, k + d_);
                return table_[h];
            }
            if (std::equal(k, k + d_, keys_.data() + e * d_)) return e;
        }
    }

private:
    size_t hash(const int32_t *k) const {
        uint64_t h = 0x9E3779B97F4A7C15ull;
        for (int i = 0; i < d_; ++i) h = (h ^ static_cast<uint32_t>(k[i])) * 0x100000001B3ull;
        return static_cast<size_t>(h ^ (h >> 29));
    }
    void grow() {
        std::vector<int64_t> bigger(table_.size() * 2, -1);
        const size_t mask = bigger.size() - 1;
        for (int64_t e = 0; e < size(); ++e) {
            size_t h = hash(key(e)) & mask;
            while (bigger[h] >= 0) h = (h + 1) & mask;
            bigger[h] = e;
        }
        table_.swap(bigger);
    }

    int d_;
    std::vector<int64_t> table_;
    std::vector<int32_t> keys_;
};

class Lattice {
public:
    // features: [N, d] row-major, already divided by the kernel's standard deviations.
    void init(const std::vector<float> &features, int64_t N, int d) {
        N_ = N;
        d_ = d;
        const int d1 = d + 1;
        offset_.resize(static_cast<size_t>(N * d1));
        bary_.resize(static_cast<size_t>(N * d1));
        KeyTable table(d, static_cast<size_t>(N * d1));

        std::vector<float> scale(d), elevated(d1), bary(d + 2);
        std::vector<int32_t> rem0(d1), rank(d1), canonical(d1 * d1), key(d);
        for (int i = 0; i <= d; ++i) {
            for (int j = 0; j <= d - i; ++j) canonical[i * d1 + j] = i;
            for (int j = d - i + 1; j <= d; ++j) canonical[i * d1 + j] = i - d1;
        }
        // Scale so that the lattice blur approximates a unit-variance Gaussian (Adams 2010, p.6).
        const double inv_std = std::sqrt(2.0 / 3.0) * d1;
        for (int i = 0; i < d; ++i) scale[i] = static_cast<float>(inv_std / std::sqrt(double(i + 1) * (i + 2)));

        for (int64_t p = 0; p < N; ++p) {
            const float *f = features.data() + p * d;
            // Elevate onto the plane x_0 + ... + x_d = 0.
            float sm = 0;
            for (int j = d; j > 0; --j) {
                const float cf = f[j - 1] * scale[j - 1];
                elevated[j] = sm - j * cf;
                sm += cf;
            }
            elevated[0] = sm;
            // Nearest remainder-0 point: round each coordinate to a multiple of d+1.
            int sum = 0;
            for (int i = 0; i <= d; ++i) {
                const float v = elevated[i] / d1;
                const float up = std::ceil(v) * d1, down = std::floor(v) * d1;
                rem0[i] = static_cast<int32_t>(up - elevated[i] < elevated[i] - down ? up : down);
                sum += rem0[i] / d1;
            }
            // Rank of each coordinate's residual (the simplex containing the point).
            std::fill(rank.begin(), rank.end(), 0);
            for (int i = 0; i < d; ++i) {
                const float di = elevated[i] - rem0[i];
                for (int j = i + 1; j <= d; ++j) {
                    if (di < elevated[j] - rem0[j]) ++rank[i];
                    else ++rank[j];
                }
            }
            // Bring the point back onto the plane when the rounding left it off.
            for (int i = 0; i <= d; ++i) {
                rank[i] += sum;
                if (rank[i] < 0) {
                    rank[i] += d1;
                    rem0[i] += d1;
                } else if (rank[i] > d) {
                    rank[i] -= d1;
                    rem0[i] -= d1;
                }
            }
            // Barycentric coordinates within the simplex.
            std::fill(bary.begin(), bary.end(), 0.0f);
            for (int i = 0; i <= d; ++i) {
                const float v = (elevated[i] - rem0[i]) / d1;
                bary[d - rank[i]] += v;
                bary[d - rank[i] + 1] -= v;
            }
            bary[0] += 1.0f + bary[d + 1];
            // The d+1 enclosing vertices.
            for (int r = 0; r <= d; ++r) {
                for (int i = 0; i < d; ++i) key[i] = rem0[i] + canonical[r * d1 + rank[i]];
                offset_[p * d1 + r] = table.find(key.data(), true);
                bary_[p * d1 + r] = bary[r];
            }
        }

        M_ = table.size();
        // Neighbours along each lattice axis j: key ± (d+1)e_j ∓ 1 (on the first d coordinates).
        neighbours_.resize(static_cast<size_t>(d1 * M_ * 2));
        std::vector<int32_t> n1(d), n2(d);
        for (int j = 0; j <= d; ++j) {
            for (int64_t v = 0; v < M_; ++v) {
                const int32_t *k = table.key(v);
                for (int i = 0; i < d; ++i) {
                    n1[i] = k[i] - 1;
                    n2[i] = k[i] + 1;
                }
                if (j < d) {
                    n1[j] = k[j] + d;
                    n2[j] = k[j] - d;
                }
                neighbours_[(j * M_ + v) * 2] = table.find(n1.data(), false);
                neighbours_[(j * M_ + v) * 2 + 1] = table.find(n2.data(), false);
            }
        }
    }

    // out[N, vs] = lattice-filtered in[N, vs]. out may not alias in.
    void compute(const float *in, float *out, int64_t vs) const {
        const int d1 = d_ + 1;
        // Slot 0 is a permanent zero standing for vertices absent from the lattice.
        std::vector<float> values(static_cast<size_t>((M_ + 1) * vs), 0.0f), next(values.size(), 0.0f);
        for (int64_t p = 0; p < N_; ++p) {
            for (int r = 0; r < d1; ++r) {
                float *dst = values.data() + (offset_[p * d1 + r] + 1) * vs;
                const float w = bary_[p * d1 + r];
                for (int64_t c = 0; c < vs; ++c) dst[c] += w * in[p * vs + c];
            }
        }
        for (int j = 0; j < d1; ++j) {
            const float *src = values.data();
            float *dst = next.data();
            parallel_range(M_, [&](int64_t b, int64_t e) {
                for (int64_t v = b; v < e; ++v) {
                    const float *a = src + (v + 1) * vs;
                    const float *l = src + (neighbours_[(j * M_ + v) * 2] + 1) * vs;
                    const float *h = src + (neighbours_[(j * M_ + v) * 2 + 1] + 1) * vs;
                    float *o = dst + (v + 1) * vs;
                    for (int64_t c = 0; c < vs; ++c) o[c] = a[c] + 0.5f * (l[c] + h[c]);
                }
            });
            values.swap(next);
        }
        const float alpha = 1.0f / (1.0f + std::pow(2.0f, -static_cast<float>(d_)));
        parallel_range(N_, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) {
                float *o = out + p * vs;
                std::fill(o, o + vs, 0.0f);
                for (int r = 0; r < d1; ++r) {
                    const float *src = values.data() + (offset_[p * d1 + r] + 1) * vs;
                    const float w = bary_[p * d1 + r] * alpha;
                    for (int64_t c = 0; c < vs; ++c) o[c] += w * src[c];
                }
            }
        });
    }

private:
    int64_t N_ = 0, M_ = 0;
    int d_ = 0;
    std::vector<int64_t> offset_, neighbours_;
    std::vector<float> bary_;
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

bool positive_finite(float v) { return std::isfinite(v) && v > 0; }

}  // namespace

OVSEG_API int ovseg_cpu_dense_crf(const float *unary, const uint8_t *rgb, int64_t L, int64_t H,
                                  int64_t W, float gauss_sxy, float gauss_compat, float bilat_sxy,
                                  float bilat_srgb, float bilat_compat, int iterations,
                                  float *q_out) {
    using namespace ovseg;
    if (any_negative({L, H, W}) || iterations < 0) return OVSEG_ERR_INVALID_ARGUMENT;
    if (!std::isfinite(gauss_compat) || !std::isfinite(bilat_compat)) return OVSEG_ERR_INVALID_ARGUMENT;
    const bool use_gauss = gauss_compat != 0.0f, use_bilat = bilat_compat != 0.0f;
    if (use_gauss && !positive_finite(gauss_sxy)) return OVSEG_ERR_INVALID_ARGUMENT;
    if (use_bilat && (!positive_finite(bilat_sxy) || !positive_finite(bilat_srgb)))
        return OVSEG_ERR_INVALID_ARGUMENT;
    if (mul_overflows(H, W) || mul_overflows(H * W, L) || mul_overflows(H * W * L, 4))
        return OVSEG_ERR_INVALID_ARGUMENT;
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
            // Lattice keys are int32 coordinates of about 4·|f|: reject features that could overflow.
            const double limit = double(1 << 26);
            if (use_gauss) {
                if (double(std::max(H, W)) / gauss_sxy > limit) return OVSEG_ERR_INVALID_ARGUMENT;
                std::vector<float> f(static_cast<size_t>(N * 2));
                for (int64_t y = 0; y < H; ++y)
                    for (int64_t x = 0; x < W; ++x) {
                        f[(y * W + x) * 2] = static_cast<float>(x / double(gauss_sxy));
                        f[(y * W + x) * 2 + 1] = static_cast<float>(y / double(gauss_sxy));
                    }
                terms.emplace_back();
                terms.back().compat = gauss_compat;
                terms.back().init(f, N, 2);
            }
            if (use_bilat) {
                if (double(std::max(H, W)) / bilat_sxy > limit || 255.0 / bilat_srgb > limit)
                    return OVSEG_ERR_INVALID_ARGUMENT;
                std::vector<float> f(static_cast<size_t>(N * 5));
                for (int64_t y = 0; y < H; ++y)
                    for (int64_t x = 0; x < W; ++x) {
                        const int64_t p = y * W + x;
                        f[p * 5] = static_cast<float>(x / double(bilat_sxy));
                        f[p * 5 + 1] = static_cast<float>(y / double(bilat_sxy));
                        for (int c = 0; c < 3; ++c)
                            f[p * 5 + 2 + c] = static_cast<float>(rgb[p * 3 + c] / double(bilat_srgb));
                    }
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
