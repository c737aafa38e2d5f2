// PIL's bicubic resize (Pillow Image.resize(size, Image.BICUBIC), libImaging/Resample.c), CPU.
// The coefficients (pil_resize_impl.h) are Pillow's; the passes are integer-only: a horizontal
// pass into an 8-bit intermediate, then a vertical pass, each rounded and saturated to 8 bits, a
// pass skipped when its axis keeps its size (as Pillow does). Pillow runs the horizontal pass
// only over the rows the vertical pass reads; so does this (the bytes are the same either way).
#include <algorithm>
#include <vector>

#include "common.h"
#include "pil_resize_impl.h"
#include "thread_pool.h"

namespace {

using ovseg::pil::Coeffs;
using ovseg::pil::clip8;
using ovseg::pil::kPrecisionBits;

// Rows per task: a few hundred kilobytes of output, so small images stay on one thread.
constexpr int64_t kRowsPerTask = 16;

void horizontal(const uint8_t *src, int64_t W, int64_t C, int64_t y0, int64_t rows, const Coeffs &c,
                int64_t outW, uint8_t *dst) {
    int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
    ovseg::parallel_for(tasks, [&](int64_t t, int) {
        int64_t r1 = std::min(rows, (t + 1) * kRowsPerTask);
        for (int64_t r = t * kRowsPerTask; r < r1; ++r) {
            const uint8_t *in = src + (y0 + r) * W * C;
            uint8_t *out = dst + r * outW * C;
            for (int64_t xx = 0; xx < outW; ++xx) {
                const int32_t *k = c.k.data() + xx * c.ksize;
                const uint8_t *p = in + int64_t(c.min[size_t(xx)]) * C;
                int32_t n = c.count[size_t(xx)];
                for (int64_t ch = 0; ch < C; ++ch) {
                    int32_t ss = 1 << (kPrecisionBits - 1);
                    for (int32_t x = 0; x < n; ++x) ss += int32_t(p[x * C + ch]) * k[x];
                    out[xx * C + ch] = clip8(ss);
                }
            }
        }
    });
}

// src rows are relative to y0 (the first row the taps read).
void vertical(const uint8_t *src, int64_t rowBytes, int64_t y0, const Coeffs &c, int64_t outH, uint8_t *dst) {
    int64_t tasks = (outH + kRowsPerTask - 1) / kRowsPerTask;
    ovseg::parallel_for(tasks, [&](int64_t t, int) {
        int64_t r1 = std::min(outH, (t + 1) * kRowsPerTask);
        std::vector<int32_t> acc(static_cast<size_t>(rowBytes));
        for (int64_t yy = t * kRowsPerTask; yy < r1; ++yy) {
            const int32_t *k = c.k.data() + yy * c.ksize;
            const uint8_t *base = src + (int64_t(c.min[size_t(yy)]) - y0) * rowBytes;
            int32_t n = c.count[size_t(yy)];
            std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
            // Row by row, so the inner loop runs over contiguous bytes; the sum per byte is the
            // same integer as Pillow's (integer addition is exact and the order does not matter).
            for (int32_t y = 0; y < n; ++y) {
                const uint8_t *row = base + y * rowBytes;
                int32_t ky = k[y];
                for (int64_t i = 0; i < rowBytes; ++i) acc[size_t(i)] += int32_t(row[i]) * ky;
            }
            uint8_t *out = dst + yy * rowBytes;
            for (int64_t i = 0; i < rowBytes; ++i) out[i] = clip8(acc[size_t(i)]);
        }
    });
}

}  // namespace

OVSEG_API int ovseg_cpu_pil_bicubic(const uint8_t *src, int64_t H, int64_t W, int64_t C, int64_t outH,
                                    int64_t outW, uint8_t *dst) {
    using ovseg::pil::kMaxSide;
    if (ovseg::any_negative({H, W, C, outH, outW})) return OVSEG_ERR_INVALID_ARGUMENT;
    if (C < 1 || C > 4) return OVSEG_ERR_INVALID_ARGUMENT;
    if (outH == 0 || outW == 0) return OVSEG_OK;  // nothing to write
    if (H == 0 || W == 0) return OVSEG_ERR_INVALID_ARGUMENT;  // nothing to sample from
    if (H > kMaxSide || W > kMaxSide || outH > kMaxSide || outW > kMaxSide) return OVSEG_ERR_UNSUPPORTED;
    if (!src || !dst) return OVSEG_ERR_INVALID_ARGUMENT;
    if (ovseg::mul_overflows(H, W) || ovseg::mul_overflows(H * W, C) || ovseg::mul_overflows(outH, outW)
        || ovseg::mul_overflows(outH * outW, C) || ovseg::mul_overflows(H, outW) || ovseg::mul_overflows(H * outW, C)) {
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (H == outH && W == outW) {
        std::memmove(dst, src, size_t(H * W * C));
        return OVSEG_OK;
    }
    try {
        if (W == outW) {  // vertical pass only
            Coeffs cv = ovseg::pil::coeffs(H, outH);
            vertical(src, W * C, 0, cv, outH, dst);
            return OVSEG_OK;
        }
        Coeffs ch = ovseg::pil::coeffs(W, outW);
        if (H == outH) {
            horizontal(src, W, C, 0, H, ch, outW, dst);
            return OVSEG_OK;
        }
        Coeffs cv = ovseg::pil::coeffs(H, outH);
        int64_t y0 = cv.min[0];
        int64_t y1 = int64_t(cv.min[size_t(outH - 1)]) + cv.count[size_t(outH - 1)];
        std::vector<uint8_t> mid(static_cast<size_t>((y1 - y0) * outW * C));
        horizontal(src, W, C, y0, y1 - y0, ch, outW, mid.data());
        vertical(mid.data(), outW * C, y0, cv, outH, dst);
        return OVSEG_OK;
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
}
