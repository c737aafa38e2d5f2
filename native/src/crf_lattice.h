// Dense CRF internals shared by the CPU twin (dense_crf.cpp) and the CUDA twin
// (kernels/dense_crf.cu, whose host code builds the same lattice): argument checks, the feature
// vectors of the two pairwise kernels and the permutohedral lattice's construction (Adams, Baek
// & Davis 2010) — splat vertices and barycentric weights per pixel, neighbours per vertex along
// each of the d+1 lattice axes. Header-only and free of the thread pool, so that libovseg_cuda
// can compile it without linking libovseg_cpu. Not part of the C API.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ovseg.h"

namespace ovseg {
namespace crf {

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

// The lattice as plain arrays. Filtering a signal in[N, vs] with it (both twins):
//   splat  values[offset[p,r]] += bary[p,r] * in[p]           (p ascending, r = 0..d)
//   blur   for j = 0..d: values'[v] = values[v] + 0.5 (values[n(j,v,0)] + values[n(j,v,1)])
//          (an absent neighbour, index -1, reads 0)
//   slice  out[p] = sum_r (bary[p,r] * alpha) * values[offset[p,r]],  alpha = 1/(1 + 2^-d)
struct LatticeGraph {
    int64_t N = 0, M = 0;            // pixels, lattice vertices
    int d = 0;                       // feature dimension (d+1 vertices per simplex)
    std::vector<int64_t> offset;     // [N, d+1] vertex of each pixel's enclosing simplex
    std::vector<float> bary;         // [N, d+1] barycentric weights
    std::vector<int64_t> neighbours; // [d+1, M, 2] vertex index or -1

    float alpha() const { return 1.0f / (1.0f + std::pow(2.0f, -static_cast<float>(d))); }

    // features: [N, d] row-major, already divided by the kernel's standard deviations.
    void build(const float *features, int64_t n, int dim) {
        N = n;
        d = dim;
        const int d1 = d + 1;
        offset.assign(static_cast<size_t>(N * d1), 0);
        bary.assign(static_cast<size_t>(N * d1), 0.0f);
        KeyTable table(d, static_cast<size_t>(N * d1));

        std::vector<float> scale(d), elevated(d1), b(d + 2);
        std::vector<int32_t> rem0(d1), rank(d1), canonical(d1 * d1), key(d);
        for (int i = 0; i <= d; ++i) {
            for (int j = 0; j <= d - i; ++j) canonical[i * d1 + j] = i;
            for (int j = d - i + 1; j <= d; ++j) canonical[i * d1 + j] = i - d1;
        }
        // Scale so that the lattice blur approximates a unit-variance Gaussian (Adams 2010, p.6).
        const double inv_std = std::sqrt(2.0 / 3.0) * d1;
        for (int i = 0; i < d; ++i) scale[i] = static_cast<float>(inv_std / std::sqrt(double(i + 1) * (i + 2)));

        for (int64_t p = 0; p < N; ++p) {
            const float *f = features + p * d;
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
            std::fill(b.begin(), b.end(), 0.0f);
            for (int i = 0; i <= d; ++i) {
                const float v = (elevated[i] - rem0[i]) / d1;
                b[d - rank[i]] += v;
                b[d - rank[i] + 1] -= v;
            }
            b[0] += 1.0f + b[d + 1];
            // The d+1 enclosing vertices.
            for (int r = 0; r <= d; ++r) {
                for (int i = 0; i < d; ++i) key[i] = rem0[i] + canonical[r * d1 + rank[i]];
                offset[p * d1 + r] = table.find(key.data(), true);
                bary[p * d1 + r] = b[r];
            }
        }

        M = table.size();
        // Neighbours along each lattice axis j: key ± (d+1)e_j ∓ 1 (on the first d coordinates).
        neighbours.assign(static_cast<size_t>(d1 * M * 2), -1);
        std::vector<int32_t> n1(d), n2(d);
        for (int j = 0; j <= d; ++j) {
            for (int64_t v = 0; v < M; ++v) {
                const int32_t *k = table.key(v);
                for (int i = 0; i < d; ++i) {
                    n1[i] = k[i] - 1;
                    n2[i] = k[i] + 1;
                }
                if (j < d) {
                    n1[j] = k[j] + d;
                    n2[j] = k[j] - d;
                }
                neighbours[(j * M + v) * 2] = table.find(n1.data(), false);
                neighbours[(j * M + v) * 2 + 1] = table.find(n2.data(), false);
            }
        }
    }
};

inline bool positive_finite(float v) { return std::isfinite(v) && v > 0; }

inline bool any_negative3(int64_t a, int64_t b, int64_t c) { return a < 0 || b < 0 || c < 0; }
inline bool mul_overflow(int64_t a, int64_t b) { return a != 0 && b > INT64_MAX / a; }

// The scalar checks of ovseg_*_dense_crf, in the CPU twin's order: OVSEG_OK or
// OVSEG_ERR_INVALID_ARGUMENT (*why says which). Pointers are the caller's to check (they may be
// NULL when L*H*W == 0).
inline int check_arguments(int64_t L, int64_t H, int64_t W, float gauss_sxy, float gauss_compat,
                           float bilat_sxy, float bilat_srgb, float bilat_compat, int iterations,
                           const char **why) {
    *why = "";
    if (any_negative3(L, H, W) || iterations < 0) {
        *why = "negative size or iteration count";
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (!std::isfinite(gauss_compat) || !std::isfinite(bilat_compat)) {
        *why = "compat weights must be finite";
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (gauss_compat != 0.0f && !positive_finite(gauss_sxy)) {
        *why = "gauss_sxy must be positive and finite";
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (bilat_compat != 0.0f && (!positive_finite(bilat_sxy) || !positive_finite(bilat_srgb))) {
        *why = "bilat_sxy and bilat_srgb must be positive and finite";
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (mul_overflow(H, W) || mul_overflow(H * W, L) || mul_overflow(H * W * L, 4)) {
        *why = "size overflows";
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    return OVSEG_OK;
}

// Lattice keys are int32 coordinates of about 4·|f|: features that could overflow them are
// rejected (false).
constexpr double kFeatureLimit = double(1 << 26);

// Gaussian kernel features f = (x, y) / sxy, [H*W, 2]; false when they would overflow the keys.
inline bool gauss_features(int64_t H, int64_t W, float sxy, std::vector<float> &f) {
    if (double(std::max(H, W)) / sxy > kFeatureLimit) return false;
    f.resize(static_cast<size_t>(H * W * 2));
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            f[(y * W + x) * 2] = static_cast<float>(x / double(sxy));
            f[(y * W + x) * 2 + 1] = static_cast<float>(y / double(sxy));
        }
    return true;
}

// Bilateral kernel features f = (x/sxy, y/sxy, r/srgb, g/srgb, b/srgb), [H*W, 5].
inline bool bilateral_features(const uint8_t *rgb, int64_t H, int64_t W, float sxy, float srgb,
                               std::vector<float> &f) {
    if (double(std::max(H, W)) / sxy > kFeatureLimit || 255.0 / srgb > kFeatureLimit) return false;
    f.resize(static_cast<size_t>(H * W * 5));
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const int64_t p = y * W + x;
            f[p * 5] = static_cast<float>(x / double(sxy));
            f[p * 5 + 1] = static_cast<float>(y / double(sxy));
            for (int c = 0; c < 3; ++c) f[p * 5 + 2 + c] = static_cast<float>(rgb[p * 3 + c] / double(srgb));
        }
    return true;
}

}  // namespace crf
}  // namespace ovseg
