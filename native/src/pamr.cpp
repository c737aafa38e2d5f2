// Pixel-adaptive mask refinement (Araslanov and Roth, CVPR 2020), as NACLIP and SCLIP apply it
// to their upsampled logits: 8 neighbours per dilation (replicate border), affinities from the
// image, then `iterations` rounds of neighbour averaging of the masks.
//
//   std_c(p)  = unbiased std of image channel c over the 3x3 neighbourhoods of every dilation
//               together (the centre counted once per dilation: 9 * n_dil values)
//   a_j(p)    = mean_c( -|x_c(p) - x_c(n_j(p))| / (1e-8 + 0.1 * std_c(p)) )
//   w_j(p)    = softmax_j a_j(p)                     (over the 8 * n_dil neighbours)
//   m_k(p)   <- sum_j w_j(p) * m_k(n_j(p))          (iterations times)
//
// The weights are computed once ([8 n_dil, H, W]); each round reads one mask buffer and writes
// the other, row by row over the thread pool.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "thread_pool.h"

namespace {

constexpr int kDy[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
constexpr int kDx[8] = {-1, 0, 1, -1, 1, -1, 0, 1};

inline int64_t clamp(int64_t v, int64_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

}  // namespace

OVSEG_API int ovseg_cpu_pamr(const float *image, int64_t C, int64_t H, int64_t W, float *mask, int64_t K,
                             const int32_t *dilations, int64_t n_dil, int iterations) {
    using namespace ovseg;
    if (any_negative({C, H, W, K, n_dil}) || iterations < 0) return OVSEG_ERR_INVALID_ARGUMENT;
    if (n_dil == 0 || !dilations || C == 0) return OVSEG_ERR_INVALID_ARGUMENT;
    for (int64_t i = 0; i < n_dil; ++i) if (dilations[i] < 1) return OVSEG_ERR_INVALID_ARGUMENT;
    const int64_t HW = H * W;
    if (HW == 0 || K == 0 || iterations == 0) return OVSEG_OK;
    if (!image || !mask) return OVSEG_ERR_INVALID_ARGUMENT;
    const int64_t J = 8 * n_dil;
    try {
        AlignedFloats weights(static_cast<size_t>(J * HW)), other(static_cast<size_t>(K * HW));
        if (!weights.data() || !other.data()) throw std::bad_alloc();
        float *w = weights.data();
        parallel_for(H, [&](int64_t y, int) {
            std::vector<double> inv(static_cast<size_t>(C));
            std::vector<float> a(static_cast<size_t>(J));
            for (int64_t x = 0; x < W; ++x) {
                for (int64_t c = 0; c < C; ++c) {
                    const float *img = image + c * HW;
                    double s = 0, ss = 0;
                    for (int64_t i = 0; i < n_dil; ++i) {
                        const int64_t d = dilations[i];
                        for (int dy = -1; dy <= 1; ++dy) {
                            for (int dx = -1; dx <= 1; ++dx) {
                                const double v = img[clamp(y + dy * d, H - 1) * W + clamp(x + dx * d, W - 1)];
                                s += v;
                                ss += v * v;
                            }
                        }
                    }
                    const double n = 9.0 * static_cast<double>(n_dil);
                    const double var = std::max(0.0, (ss - s * s / n) / (n - 1));
                    inv[static_cast<size_t>(c)] = 1.0 / (1e-8 + 0.1 * std::sqrt(var));
                }
                float mx = -INFINITY;
                for (int64_t i = 0; i < n_dil; ++i) {
                    const int64_t d = dilations[i];
                    for (int j = 0; j < 8; ++j) {
                        const int64_t q = clamp(y + kDy[j] * d, H - 1) * W + clamp(x + kDx[j] * d, W - 1);
                        double acc = 0;
                        for (int64_t c = 0; c < C; ++c) {
                            const float *img = image + c * HW;
                            acc -= std::fabs(static_cast<double>(img[y * W + x]) - img[q]) * inv[static_cast<size_t>(c)];
                        }
                        const float v = static_cast<float>(acc / static_cast<double>(C));
                        a[static_cast<size_t>(i * 8 + j)] = v;
                        mx = std::max(mx, v);
                    }
                }
                double sum = 0;
                for (int64_t j = 0; j < J; ++j) sum += std::exp(static_cast<double>(a[static_cast<size_t>(j)] - mx));
                for (int64_t j = 0; j < J; ++j) {
                    w[j * HW + y * W + x] = static_cast<float>(std::exp(static_cast<double>(a[static_cast<size_t>(j)] - mx)) / sum);
                }
            }
        });
        float *src = mask, *dst = other.data();
        for (int it = 0; it < iterations; ++it) {
            parallel_for(K * H, [&](int64_t row, int) {
                const int64_t k = row / H, y = row % H;
                const float *m = src + k * HW;
                float *out = dst + k * HW + y * W;
                for (int64_t x = 0; x < W; ++x) {
                    float acc = 0;
                    for (int64_t i = 0; i < n_dil; ++i) {
                        const int64_t d = dilations[i];
                        for (int j = 0; j < 8; ++j) {
                            const int64_t q = clamp(y + kDy[j] * d, H - 1) * W + clamp(x + kDx[j] * d, W - 1);
                            acc += w[(i * 8 + j) * HW + y * W + x] * m[q];
                        }
                    }
                    out[x] = acc;
                }
            });
            std::swap(src, dst);
        }
        if (src != mask) std::copy(src, src + K * HW, mask);
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
    return OVSEG_OK;
}
