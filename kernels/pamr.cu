/*
 * Pixel-adaptive mask refinement (PAMR), the CUDA twin of ovseg_cpu_pamr (native/src/pamr.cpp
 * holds the semantics; ovseg.h the formulas).
 *
 * Two kernels: pamr_weights computes, one thread per pixel, the image affinities
 * w[j, p] = softmax_j(mean_c(-|x_c(p) - x_c(n_j(p))| / (1e-8 + 0.1 std_c(p)))) for the 8 neighbours
 * of every dilation (replicate border); pamr_step, one thread per (mask, pixel), applies
 * m_k(p) <- sum_j w[j, p] m_k(n_j(p)) reading one buffer and writing the other. The statistics
 * are accumulated in double as on the CPU, so the twins differ by float rounding only
 * (the harness bound: 1e-5 relative to the masks' magnitude).
 */
#include <stdint.h>

#include "common.cuh"

namespace ovseg_cuda {
namespace {

constexpr int kMaxDilations = 8;

struct Dilations {
    int n;
    int d[kMaxDilations];
};

__device__ __forceinline__ int64_t clampi(int64_t v, int64_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

__constant__ int kDy[8] = {-1, -1, -1, 0, 0, 1, 1, 1};
__constant__ int kDx[8] = {-1, 0, 1, -1, 1, -1, 0, 1};

__global__ void pamr_weights(const float *__restrict__ image, int64_t C, int64_t H, int64_t W, Dilations dil,
                             float *__restrict__ w) {
    const int64_t HW = H * W;
    for (int64_t p = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; p < HW; p += (int64_t)gridDim.x * blockDim.x) {
        const int64_t y = p / W, x = p % W;
        float a[8 * kMaxDilations];
        const int J = 8 * dil.n;
        for (int j = 0; j < J; ++j) a[j] = 0.f;
        double acc[8 * kMaxDilations];
        for (int j = 0; j < J; ++j) acc[j] = 0.0;
        for (int64_t c = 0; c < C; ++c) {
            const float *img = image + c * HW;
            double s = 0, ss = 0;
            for (int i = 0; i < dil.n; ++i) {
                const int64_t d = dil.d[i];
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx) {
                        const double v = img[clampi(y + dy * d, H - 1) * W + clampi(x + dx * d, W - 1)];
                        s += v;
                        ss += v * v;
                    }
            }
            const double n = 9.0 * dil.n;
            const double var = fmax(0.0, (ss - s * s / n) / (n - 1));
            const double inv = 1.0 / (1e-8 + 0.1 * sqrt(var));
            const double centre = img[p];
            for (int i = 0; i < dil.n; ++i) {
                const int64_t d = dil.d[i];
                for (int j = 0; j < 8; ++j) {
                    const int64_t q = clampi(y + kDy[j] * d, H - 1) * W + clampi(x + kDx[j] * d, W - 1);
                    acc[i * 8 + j] -= fabs(centre - (double)img[q]) * inv;
                }
            }
        }
        float mx = -INFINITY;
        for (int j = 0; j < J; ++j) {
            a[j] = (float)(acc[j] / (double)C);
            mx = fmaxf(mx, a[j]);
        }
        double sum = 0;
        for (int j = 0; j < J; ++j) sum += exp((double)(a[j] - mx));
        for (int j = 0; j < J; ++j) w[j * HW + p] = (float)(exp((double)(a[j] - mx)) / sum);
    }
}

__global__ void pamr_step(const float *__restrict__ w, const float *__restrict__ src, float *__restrict__ dst,
                          int64_t K, int64_t H, int64_t W, Dilations dil) {
    const int64_t HW = H * W;
    for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < K * HW; t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t k = t / HW, p = t % HW, y = p / W, x = p % W;
        const float *m = src + k * HW;
        float acc = 0.f;
        for (int i = 0; i < dil.n; ++i) {
            const int64_t d = dil.d[i];
            for (int j = 0; j < 8; ++j) {
                const int64_t q = clampi(y + kDy[j] * d, H - 1) * W + clampi(x + kDx[j] * d, W - 1);
                acc += w[(i * 8 + j) * HW + p] * m[q];
            }
        }
        dst[t] = acc;
    }
}

}  // namespace
}  // namespace ovseg_cuda

using namespace ovseg_cuda;

extern "C" int ovseg_cuda_pamr(const float *image, int64_t C, int64_t H, int64_t W, float *mask, int64_t K,
                               const int32_t *dilations, int64_t n_dil, int iterations, void *stream_) {
    if (C < 0 || H < 0 || W < 0 || K < 0 || n_dil < 0 || iterations < 0) {
        set_error("ovseg_cuda_pamr: negative size or iteration count");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (n_dil == 0 || !dilations || C == 0) {
        set_error("ovseg_cuda_pamr: needs at least one dilation and one image channel");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (n_dil > kMaxDilations) {
        set_error("ovseg_cuda_pamr: at most %d dilations, got %lld", kMaxDilations, (long long)n_dil);
        return OVSEG_ERR_UNSUPPORTED;
    }
    Dilations dil{};
    dil.n = (int)n_dil;
    for (int64_t i = 0; i < n_dil; ++i) {
        if (dilations[i] < 1) {
            set_error("ovseg_cuda_pamr: dilation %d < 1", dilations[i]);
            return OVSEG_ERR_INVALID_ARGUMENT;
        }
        dil.d[i] = dilations[i];
    }
    if ((H != 0 && W > INT64_MAX / H) || (H * W != 0 && (K > INT64_MAX / (H * W) || 8 * n_dil > INT64_MAX / (H * W)))) {
        set_error("ovseg_cuda_pamr: size overflows");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    const int64_t HW = H * W;
    if (HW == 0 || K == 0 || iterations == 0) return OVSEG_OK;
    if (!image || !mask) {
        set_error("ovseg_cuda_pamr: image or mask is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    cudaStream_t stream = (cudaStream_t)stream_;
    float *w = nullptr, *other = nullptr;
    int st = ws_alloc((void **)&w, sizeof(float) * (size_t)(8 * n_dil * HW), stream);
    if (st != OVSEG_OK) return st;
    st = ws_alloc((void **)&other, sizeof(float) * (size_t)(K * HW), stream);
    if (st != OVSEG_OK) {
        ws_free(w, stream);
        return st;
    }
    const int threads = 256;
    pamr_weights<<<grid_stride_blocks(HW, threads), threads, 0, stream>>>(image, C, H, W, dil, w);
    st = launch_status("pamr_weights");
    float *src = mask, *dst = other;
    for (int it = 0; it < iterations && st == OVSEG_OK; ++it) {
        pamr_step<<<grid_stride_blocks(K * HW, threads), threads, 0, stream>>>(w, src, dst, K, H, W, dil);
        st = launch_status("pamr_step");
        float *t = src;
        src = dst;
        dst = t;
    }
    if (st == OVSEG_OK && src != mask) {
        const cudaError_t e = cudaMemcpyAsync(mask, src, sizeof(float) * (size_t)(K * HW), cudaMemcpyDeviceToDevice, stream);
        if (e != cudaSuccess) st = cuda_fail("ovseg_cuda_pamr: copy back", e);
    }
    const int s1 = ws_free(other, stream), s2 = ws_free(w, stream);
    return st != OVSEG_OK ? st : (s1 != OVSEG_OK ? s1 : s2);
}
