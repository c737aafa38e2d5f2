/*
 * CLIP-as-RNN visual prompts, the CUDA twin of ovseg_cpu_visual_prompt
 * (native/src/visual_prompt.cpp holds the exact semantics); the output is bit-identical.
 *
 * Math (ovseg.h): no prompt (out = rgb) when sum(cam) <= 1 or flags == 0; otherwise
 * mask = cam > thr and, in the fixed order blur, gray, black, circle, rectangle, contour:
 *   blur   outside the mask: cv2.GaussianBlur 15x15, sigma 2.6, BORDER_REFLECT_101, OpenCV's
 *          8-bit fixed-point path: taps k[15] in Q8 summing to 256 (ovseg::vp::gaussian_q8),
 *          row pass  R[y,x,c] = sum_t k[t] * img[y, reflect(x+t-7), c]          (exact, <= 65280)
 *          col pass  out[y,x,c] = min(255, (sum_t k[t] * R[reflect(y+t-7), x, c] + 2^15) >> 16)
 *          (the whole image is blurred, inside pixels feed outside ones);
 *   gray   outside: R=G=B=(R*3735 + G*19235 + B*9798 + 16384) >> 15;
 *   black  outside: 0;
 *   shapes red (255,0,0) 1-px ellipse / rectangle / contour from the mask statistics.
 * All integer arithmetic, so the GPU reproduces the CPU twin bit for bit.
 *
 * Shapes / layout: rgb[H,W,3] uint8 interleaved, cam[H,W] fp32, out[H,W,3] uint8, device
 * memory; out == rgb is allowed (in place).
 *
 * Host part: cam is copied back (4*H*W bytes, one stream synchronisation) because the
 * "sum(cam) <= 1" test must be the CPU's double sum in pixel order to decide identically at the
 * boundary, and the shapes need the mask's centroid, bounding box and hole filling (a flood
 * fill, sequential). The shapes are rasterised on the host by the CPU twin's own code
 * (native/src/visual_prompt_impl.h) into a list of pixel indices; the GPU paints them last
 * (every shape paints the same colour after the pixel effects, so the order among them is moot).
 *
 * Kernels (on the caller's stream), 1-D grid-stride loops of VP_THREADS = 256 threads,
 * grid = min(ceil(n / 256), 2^20):
 *   vp_rows       (blur only) one thread per pixel (n = H*W): the 15-tap row pass of the three
 *                 channels from rgb into a uint16 scratch R[H,W,3] (consecutive threads read
 *                 consecutive pixels of one row: coalesced through L1).
 *   vp_composite  one thread per pixel: inside pixels copy rgb; outside pixels take the column
 *                 pass of R (blur), then gray, then black, as flagged. Each thread reads only
 *                 its own rgb pixel (and R), so out == rgb is safe; R was completed by vp_rows.
 *   vp_paint      one thread per listed shape pixel: (255, 0, 0).
 *   Without blur/gray/black the image is copied device to device (when out != rgb).
 * The mask is recomputed on the device as cam[p] > thr, the same float comparison as the host's.
 */
#include <cstring>
#include <new>
#include <vector>

#include "common.cuh"
/* Host code shared with the CPU twin; kept out of libovseg_cuda.so's dynamic symbol table. */
#pragma GCC visibility push(hidden)
#include "visual_prompt_impl.h"
#pragma GCC visibility pop

namespace ovseg_cuda {
namespace {

constexpr int VP_THREADS = 256;
constexpr int KS = ovseg::vp::kKsize, KR = KS / 2;

struct Taps {
    int32_t k[KS];
};

__global__ void __launch_bounds__(VP_THREADS)
vp_rows(const uint8_t *__restrict__ rgb, int64_t H, int64_t W, Taps taps, uint16_t *__restrict__ rows) {
    OVSEG_GRID_STRIDE(i, H * W) {
        const int64_t y = i / W, x = i - y * W;
        const uint8_t *src = rgb + y * W * 3;
        uint32_t a0 = 0, a1 = 0, a2 = 0;
#pragma unroll
        for (int t = 0; t < KS; ++t) {
            const uint8_t *p = src + ovseg::vp::reflect101(x + t - KR, W) * 3;
            const uint32_t k = (uint32_t)taps.k[t];
            a0 += k * p[0];
            a1 += k * p[1];
            a2 += k * p[2];
        }
        rows[i * 3] = (uint16_t)(a0 > 65535u ? 65535u : a0);
        rows[i * 3 + 1] = (uint16_t)(a1 > 65535u ? 65535u : a1);
        rows[i * 3 + 2] = (uint16_t)(a2 > 65535u ? 65535u : a2);
    }
}

__global__ void __launch_bounds__(VP_THREADS)
vp_composite(const uint8_t *rgb, const float *__restrict__ cam, float thr, int64_t H, int64_t W,
             int flags, Taps taps, const uint16_t *__restrict__ rows, uint8_t *out) {
    OVSEG_GRID_STRIDE(i, H * W) {
        uint32_t r = rgb[i * 3], g = rgb[i * 3 + 1], b = rgb[i * 3 + 2];
        if (!(cam[i] > thr)) { /* outside the mask */
            if (flags & OVSEG_VP_BLUR) {
                const int64_t y = i / W, x = i - y * W;
                uint32_t a0 = 0, a1 = 0, a2 = 0;
#pragma unroll
                for (int t = 0; t < KS; ++t) {
                    const uint16_t *p = rows + (ovseg::vp::reflect101(y + t - KR, H) * W + x) * 3;
                    const uint32_t k = (uint32_t)taps.k[t];
                    a0 += k * p[0];
                    a1 += k * p[1];
                    a2 += k * p[2];
                }
                r = (a0 + 32768u) >> 16;
                g = (a1 + 32768u) >> 16;
                b = (a2 + 32768u) >> 16;
                r = r > 255u ? 255u : r;
                g = g > 255u ? 255u : g;
                b = b > 255u ? 255u : b;
            }
            if (flags & OVSEG_VP_GRAY) r = g = b = ovseg::vp::gray_of(r, g, b);
            if (flags & OVSEG_VP_BLACK) r = g = b = 0;
        }
        out[i * 3] = (uint8_t)r;
        out[i * 3 + 1] = (uint8_t)g;
        out[i * 3 + 2] = (uint8_t)b;
    }
}

__global__ void __launch_bounds__(VP_THREADS)
vp_paint(const int64_t *__restrict__ idx, int64_t n, uint8_t *__restrict__ out) {
    OVSEG_GRID_STRIDE(i, n) {
        uint8_t *p = out + idx[i] * 3;
        p[0] = 255;
        p[1] = 0;
        p[2] = 0;
    }
}

int copy_image(const uint8_t *rgb, uint8_t *out, int64_t HW, cudaStream_t stream) {
    if (out != rgb)
        OVSEG_CUDA_CHECK(cudaMemcpyAsync(out, rgb, (size_t)(HW * 3), cudaMemcpyDeviceToDevice, stream));
    return OVSEG_OK;
}

int run_prompt(const uint8_t *rgb, const float *cam, int64_t H, int64_t W, float thr, int flags,
               uint8_t *out, cudaStream_t stream) {
    const int64_t HW = H * W;
    if (flags == 0) return copy_image(rgb, out, HW, stream);
    std::vector<float> h_cam((size_t)HW);
    OVSEG_CUDA_CHECK(cudaMemcpyAsync(h_cam.data(), cam, (size_t)HW * 4, cudaMemcpyDeviceToHost, stream));
    OVSEG_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (ovseg::vp::cam_total(h_cam.data(), HW) <= 1.0) return copy_image(rgb, out, HW, stream);

    /* shapes on the host, as a sorted list of distinct pixels */
    std::vector<int64_t> red;
    if (flags & ovseg::vp::kShapeFlags) {
        std::vector<uint8_t> mask((size_t)HW);
        const ovseg::vp::MaskStats s = ovseg::vp::mask_of(h_cam.data(), H, W, thr, mask.data());
        if (s.count > 0) {
            std::vector<uint8_t> hit((size_t)HW, 0);
            auto put = [&](int64_t x, int64_t y) {
                if (x >= 0 && y >= 0 && x < W && y < H) hit[(size_t)(y * W + x)] = 1;
            };
            ovseg::vp::draw_shapes(put, flags, s, mask.data(), H, W);
            for (int64_t p = 0; p < HW; ++p)
                if (hit[(size_t)p]) red.push_back(p);
        }
    }
    std::vector<float>().swap(h_cam);

    const bool pixel_effects = (flags & (OVSEG_VP_BLUR | OVSEG_VP_GRAY | OVSEG_VP_BLACK)) != 0;
    const bool blur = (flags & OVSEG_VP_BLUR) != 0;
    const size_t rows_bytes = blur ? ((size_t)HW * 3 * 2 + 255) / 256 * 256 : 0;
    const size_t idx_bytes = red.size() * sizeof(int64_t);
    void *ws = nullptr;
    int st = ws_alloc(&ws, rows_bytes + idx_bytes, stream);
    if (st != OVSEG_OK) return st;
    uint16_t *rows = blur ? (uint16_t *)ws : nullptr;
    int64_t *idx = idx_bytes ? (int64_t *)((unsigned char *)ws + rows_bytes) : nullptr;

    auto body = [&]() -> int {
        Taps taps;
        ovseg::vp::gaussian_q8(taps.k);
        const unsigned grid = grid_stride_blocks(HW, VP_THREADS);
        if (pixel_effects) {
            if (blur) {
                vp_rows<<<grid, VP_THREADS, 0, stream>>>(rgb, H, W, taps, rows);
                OVSEG_LAUNCH_CHECK("vp_rows launch");
            }
            vp_composite<<<grid, VP_THREADS, 0, stream>>>(rgb, cam, thr, H, W, flags, taps, rows, out);
            OVSEG_LAUNCH_CHECK("vp_composite launch");
        } else {
            int s = copy_image(rgb, out, HW, stream);
            if (s != OVSEG_OK) return s;
        }
        if (!red.empty()) {
            /* pageable source: returns once staged, so `red` may be freed after the call */
            OVSEG_CUDA_CHECK(cudaMemcpyAsync(idx, red.data(), idx_bytes, cudaMemcpyHostToDevice, stream));
            const int64_t n = (int64_t)red.size();
            vp_paint<<<grid_stride_blocks(n, VP_THREADS), VP_THREADS, 0, stream>>>(idx, n, out);
            OVSEG_LAUNCH_CHECK("vp_paint launch");
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

extern "C" int ovseg_cuda_visual_prompt(const uint8_t *rgb, const float *cam, int64_t H, int64_t W,
                                        float mask_threshold, int flags, uint8_t *out, void *stream_) {
    if (H < 0 || W < 0) {
        set_error("ovseg_cuda_visual_prompt: negative size (H %lld, W %lld)", (long long)H, (long long)W);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if ((flags & ~ovseg::vp::kAllFlags) != 0) {
        set_error("ovseg_cuda_visual_prompt: unknown flag bits 0x%x", flags & ~ovseg::vp::kAllFlags);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if ((H != 0 && W > INT64_MAX / H) || (H * W != 0 && 3 > INT64_MAX / (H * W))) {
        set_error("ovseg_cuda_visual_prompt: size overflows");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (H * W == 0) return OVSEG_OK;
    if (!rgb || !cam || !out) {
        set_error("ovseg_cuda_visual_prompt: rgb, cam or out is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    try {
        return run_prompt(rgb, cam, H, W, mask_threshold, flags, out, (cudaStream_t)stream_);
    } catch (const std::bad_alloc &) {
        set_error("ovseg_cuda_visual_prompt: host allocation failed");
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
}
