/*
 * PIL's bicubic resize (Pillow Image.resize(size, BICUBIC), libImaging/Resample.c), the CUDA
 * twin of ovseg_cpu_pil_bicubic (native/src/pil_resize.cpp); the output is bit-identical.
 *
 * Math (ovseg.h; coefficients in native/src/pil_resize_impl.h): per axis and output index o,
 *   scale = in/out, fs = max(scale, 1), support = 2 fs, center = (o + 0.5) scale,
 *   taps x in [xmin, xmin + n): w = keys_{a=-0.5}((x - center + 0.5) / fs), normalised to sum 1
 *   in double, k = (int)(w * 2^22 +- 0.5) (half away from zero);
 *   out[o] = clip8((2^21 + sum_x in[x] * k[x - xmin]) >> 22), clip8 saturating to 0..255.
 * Horizontal pass, then vertical (each to 8 bits), a pass skipped when its axis keeps its size.
 * The coefficients are the only floating-point part: the host computes them with the CPU twin's
 * code and uploads them, so the integer passes on the device reproduce the CPU bit for bit
 * (int32 sums: |k| sums to < 1.5 * 2^22, times 255 < 2^31).
 *
 * Shapes / layout: src[H,W,C] and dst[outH,outW,C] uint8 interleaved, C in 1..4, device memory;
 * the intermediate mid[rows,outW,C] holds only the input rows the vertical taps read
 * (rows = last tap end - first tap start), as Pillow does.
 *
 * Kernels (caller's stream), 1-D grid-stride loops of PR_THREADS = 256 threads,
 * grid = min(ceil(n / 256), 2^20):
 *   pr_horizontal  one thread per output byte (n = rows * outW * C): reads its row's taps
 *                  (neighbouring threads read neighbouring input bytes: coalesced via L1).
 *   pr_vertical    one thread per output byte (n = outH * rowBytes): consecutive threads walk
 *                  consecutive bytes of the same input rows (coalesced).
 * Workspace (one ws_alloc): mid + per axis min[out], count[out], k[out * ksize] (int32), uploaded
 * from pageable host memory (the copy returns once staged, so the host vectors may go).
 */
#include <cstring>
#include <new>
#include <vector>

#include "common.cuh"
/* Host code shared with the CPU twin; kept out of libovseg_cuda.so's dynamic symbol table. */
#pragma GCC visibility push(hidden)
#include "pil_resize_impl.h"
#pragma GCC visibility pop

namespace ovseg_cuda {
namespace {

constexpr int PR_THREADS = 256;
constexpr int PR_HALF = 1 << (ovseg::pil::kPrecisionBits - 1);

struct Axis {
    const int32_t *min, *count, *k;
    int ksize;
};

__device__ __forceinline__ uint8_t pr_clip8(int32_t ss) {
    const int32_t v = ss >> ovseg::pil::kPrecisionBits;
    return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
}

__global__ void __launch_bounds__(PR_THREADS)
pr_horizontal(const uint8_t *__restrict__ src, int64_t W, int64_t C, int64_t y0, int64_t rows,
              Axis a, int64_t outW, uint8_t *__restrict__ dst) {
    const int64_t rowOut = outW * C;
    OVSEG_GRID_STRIDE(i, rows * rowOut) {
        const int64_t r = i / rowOut, rem = i - r * rowOut;
        const int64_t xx = rem / C, ch = rem - xx * C;
        const uint8_t *p = src + (y0 + r) * W * C + (int64_t)a.min[xx] * C + ch;
        const int32_t *k = a.k + xx * a.ksize;
        const int32_t n = a.count[xx];
        int32_t ss = PR_HALF;
        for (int32_t x = 0; x < n; ++x) ss += (int32_t)p[x * C] * k[x];
        dst[i] = pr_clip8(ss);
    }
}

/* src rows are relative to y0 (the first row the taps read). */
__global__ void __launch_bounds__(PR_THREADS)
pr_vertical(const uint8_t *__restrict__ src, int64_t rowBytes, int64_t y0, Axis a, int64_t outH,
            uint8_t *__restrict__ dst) {
    OVSEG_GRID_STRIDE(i, outH * rowBytes) {
        const int64_t yy = i / rowBytes, b = i - yy * rowBytes;
        const uint8_t *p = src + ((int64_t)a.min[yy] - y0) * rowBytes + b;
        const int32_t *k = a.k + yy * a.ksize;
        const int32_t n = a.count[yy];
        int32_t ss = PR_HALF;
        for (int32_t y = 0; y < n; ++y) ss += (int32_t)p[y * rowBytes] * k[y];
        dst[i] = pr_clip8(ss);
    }
}

size_t align256(size_t b) { return (b + 255) / 256 * 256; }

size_t axis_bytes(const ovseg::pil::Coeffs &c) {
    return align256(c.min.size() * 4) * 2 + align256(c.k.size() * 4);
}

/* Uploads c into ws (advanced past it) and returns the device view. */
int upload(const ovseg::pil::Coeffs &c, unsigned char *&ws, Axis &a, cudaStream_t stream) {
    const size_t m = c.min.size() * 4, kb = c.k.size() * 4;
    a.min = (const int32_t *)ws;
    OVSEG_CUDA_CHECK(cudaMemcpyAsync(ws, c.min.data(), m, cudaMemcpyHostToDevice, stream));
    ws += align256(m);
    a.count = (const int32_t *)ws;
    OVSEG_CUDA_CHECK(cudaMemcpyAsync(ws, c.count.data(), m, cudaMemcpyHostToDevice, stream));
    ws += align256(m);
    a.k = (const int32_t *)ws;
    OVSEG_CUDA_CHECK(cudaMemcpyAsync(ws, c.k.data(), kb, cudaMemcpyHostToDevice, stream));
    ws += align256(kb);
    a.ksize = c.ksize;
    return OVSEG_OK;
}

int run_resize(const uint8_t *src, int64_t H, int64_t W, int64_t C, int64_t outH, int64_t outW,
               uint8_t *dst, cudaStream_t stream) {
    if (H == outH && W == outW) {
        OVSEG_CUDA_CHECK(cudaMemcpyAsync(dst, src, (size_t)(H * W * C), cudaMemcpyDeviceToDevice, stream));
        return OVSEG_OK;
    }
    const bool horiz = W != outW, vert = H != outH;
    ovseg::pil::Coeffs ch, cv;
    if (horiz) ch = ovseg::pil::coeffs(W, outW);
    if (vert) cv = ovseg::pil::coeffs(H, outH);
    int64_t y0 = 0, rows = H;
    if (horiz && vert) {
        y0 = cv.min[0];
        rows = (int64_t)cv.min[(size_t)(outH - 1)] + cv.count[(size_t)(outH - 1)] - y0;
    }
    const size_t mid_bytes = horiz && vert ? align256((size_t)(rows * outW * C)) : 0;
    const size_t total = mid_bytes + (horiz ? axis_bytes(ch) : 0) + (vert ? axis_bytes(cv) : 0);
    void *ws = nullptr;
    int st = ws_alloc(&ws, total, stream);
    if (st != OVSEG_OK) return st;
    auto body = [&]() -> int {
        unsigned char *cur = (unsigned char *)ws + mid_bytes;
        uint8_t *mid = (uint8_t *)ws;
        Axis ah{}, av{};
        if (horiz) {
            int s = upload(ch, cur, ah, stream);
            if (s != OVSEG_OK) return s;
        }
        if (vert) {
            int s = upload(cv, cur, av, stream);
            if (s != OVSEG_OK) return s;
        }
        if (horiz) {
            uint8_t *hout = vert ? mid : dst;
            const int64_t n = rows * outW * C;
            pr_horizontal<<<grid_stride_blocks(n, PR_THREADS), PR_THREADS, 0, stream>>>(src, W, C, y0, rows, ah,
                                                                                        outW, hout);
            OVSEG_LAUNCH_CHECK("pr_horizontal launch");
        }
        if (vert) {
            const uint8_t *vin = horiz ? mid : src;
            const int64_t rowBytes = outW * C, n = outH * rowBytes;
            pr_vertical<<<grid_stride_blocks(n, PR_THREADS), PR_THREADS, 0, stream>>>(vin, rowBytes, y0, av, outH,
                                                                                      dst);
            OVSEG_LAUNCH_CHECK("pr_vertical launch");
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

extern "C" int ovseg_cuda_pil_bicubic(const uint8_t *src, int64_t H, int64_t W, int64_t C, int64_t outH,
                                      int64_t outW, uint8_t *dst, void *stream_) {
    if (H < 0 || W < 0 || C < 0 || outH < 0 || outW < 0) {
        set_error("ovseg_cuda_pil_bicubic: negative size");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (C < 1 || C > 4) {
        set_error("ovseg_cuda_pil_bicubic: C must be 1..4, is %lld", (long long)C);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (outH == 0 || outW == 0) return OVSEG_OK;
    if (H == 0 || W == 0) {
        set_error("ovseg_cuda_pil_bicubic: empty input (H %lld, W %lld) for a %lldx%lld output", (long long)H,
                  (long long)W, (long long)outH, (long long)outW);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    const int64_t M = ovseg::pil::kMaxSide;
    if (H > M || W > M || outH > M || outW > M) {
        set_error("ovseg_cuda_pil_bicubic: a side above 2^30");
        return OVSEG_ERR_UNSUPPORTED;
    }
    if (W > INT64_MAX / H / C || outW > INT64_MAX / outH / C || outW > INT64_MAX / H / C) {
        set_error("ovseg_cuda_pil_bicubic: size overflows");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (!src || !dst) {
        set_error("ovseg_cuda_pil_bicubic: src or dst is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    try {
        return run_resize(src, H, W, C, outH, outW, dst, (cudaStream_t)stream_);
    } catch (const std::bad_alloc &) {
        set_error("ovseg_cuda_pil_bicubic: host allocation failed");
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
}
