// Visual-prompt internals shared by the CPU twin (visual_prompt.cpp) and the CUDA twin
// (kernels/visual_prompt.cu): OpenCV's border rule and fixed-point Gaussian taps, the mask's
// statistics and the rasterisation of the 1-px shapes. The shapes call put(x, y) for every
// pixel they colour red (possibly more than once, possibly outside the image: put clips), so the
// CPU paints straight into the image and the CUDA host code collects a pixel list. Header-only;
// the semantics are documented in visual_prompt.cpp. Not part of the C API.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "ovseg.h"

#ifdef __CUDACC__
#define OVSEG_VP_HD __host__ __device__
#else
#define OVSEG_VP_HD
#endif

namespace ovseg {
namespace vp {

constexpr int kAllFlags = OVSEG_VP_BLUR | OVSEG_VP_GRAY | OVSEG_VP_BLACK | OVSEG_VP_CIRCLE |
                          OVSEG_VP_RECTANGLE | OVSEG_VP_CONTOUR;
constexpr int kKsize = 15;
constexpr int kShapeFlags = OVSEG_VP_CIRCLE | OVSEG_VP_RECTANGLE | OVSEG_VP_CONTOUR;

// OpenCV borderInterpolate for BORDER_REFLECT_101.
OVSEG_VP_HD inline int64_t reflect101(int64_t p, int64_t len) {
    if (p >= 0 && p < len) return p;
    if (len == 1) return 0;
    do {
        if (p < 0) p = -p;
        else p = 2 * len - 2 - p;
    } while (p < 0 || p >= len);
    return p;
}

// cv2 COLOR_BGR2GRAY on RGB data (15-bit constants; see visual_prompt.cpp).
OVSEG_VP_HD inline uint8_t gray_of(uint32_t r, uint32_t g, uint32_t b) {
    return uint8_t((r * 3735u + g * 19235u + b * 9798u + 16384u) >> 15);
}

// getGaussianKernelBitExact(15, 2.6) then getGaussianKernelFixedPoint_ED(.., 8): the taps are
// rounded to Q8 (cvRound, half to even) from the outside in with the rounding error carried to
// the next tap, and the centre tap takes whatever makes the sum exactly 256.
inline void gaussian_q8(int32_t k[kKsize]) {
    const double sigma = 0.3 * ((kKsize - 1) * 0.5 - 1) + 0.8;
    const double scale2x = -0.125 / (sigma * sigma);
    const int n2 = (kKsize - 1) / 2;
    double values[kKsize];
    double sum = 0;
    for (int i = 0, x = 1 - kKsize; i < n2; ++i, x += 2) {
        values[i] = std::exp(double(x * x) * scale2x);
        sum += values[i];
    }
    sum = sum * 2 + 1;
    const double mul = 1.0 / sum;
    double err = 0;
    int32_t total = 0;
    for (int i = 0; i < n2; ++i) {
        const double adj = values[i] * mul * 256.0 + err;
        const int32_t q = int32_t(std::nearbyint(adj));
        err = adj - q;
        k[i] = q;
        k[kKsize - 1 - i] = q;
        total += 2 * q;
    }
    k[n2] = 256 - total;
}

// mask = cam > thr and the statistics the shapes need.
struct MaskStats {
    int64_t count = 0, sum_y = 0, sum_x = 0;
    int64_t min_y = 0, max_y = -1, min_x = 0, max_x = -1;
};

inline MaskStats mask_of(const float *cam, int64_t H, int64_t W, float thr, uint8_t *mask) {
    MaskStats s;
    s.min_y = H;
    s.min_x = W;
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const bool in = cam[y * W + x] > thr;
            mask[y * W + x] = in;
            if (!in) continue;
            ++s.count;
            s.sum_y += y;
            s.sum_x += x;
            if (y < s.min_y) s.min_y = y;
            if (y > s.max_y) s.max_y = y;
            if (x < s.min_x) s.min_x = x;
            if (x > s.max_x) s.max_x = x;
        }
    return s;
}

// Σ cam in double, in pixel order (the "no prompt when Σ cam <= 1" test).
inline double cam_total(const float *cam, int64_t HW) {
    double total = 0;
    for (int64_t i = 0; i < HW; ++i) total += cam[i];
    return total;
}

template <class Put>
void draw_ellipse(Put &&put, int64_t cx, int64_t cy, int64_t a, int64_t b) {
    // Step in angle below 1/(2*max axis) radians: consecutive samples are at most ~0.5 px apart,
    // so the rounded pixels form a connected ring.
    const int64_t m = a > b ? a : b;
    const int64_t n = 8 * m + 8;
    const double two_pi = 6.283185307179586;
    for (int64_t i = 0; i < n; ++i) {
        const double th = two_pi * double(i) / double(n);
        const int64_t x = cx + int64_t(std::lround(double(a) * std::cos(th)));
        const int64_t y = cy + int64_t(std::lround(double(b) * std::sin(th)));
        put(x, y);
    }
}

template <class Put>
void draw_rectangle(Put &&put, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
    for (int64_t x = x0; x <= x1; ++x) {
        put(x, y0);
        put(x, y1);
    }
    for (int64_t y = y0; y <= y1; ++y) {
        put(x0, y);
        put(x1, y);
    }
}

template <class Put>
void draw_contour(Put &&put, const uint8_t *mask, int64_t H, int64_t W) {
    const size_t HW = size_t(H * W);
    // Fill holes: background reachable (4-connected) from the image border stays background.
    std::vector<uint8_t> outside(HW, 0);
    std::vector<int64_t> stack;
    auto seed = [&](int64_t y, int64_t x) {
        const int64_t i = y * W + x;
        if (!mask[i] && !outside[size_t(i)]) {
            outside[size_t(i)] = 1;
            stack.push_back(i);
        }
    };
    for (int64_t x = 0; x < W; ++x) {
        seed(0, x);
        seed(H - 1, x);
    }
    for (int64_t y = 0; y < H; ++y) {
        seed(y, 0);
        seed(y, W - 1);
    }
    while (!stack.empty()) {
        const int64_t i = stack.back();
        stack.pop_back();
        const int64_t y = i / W, x = i % W;
        if (y > 0) seed(y - 1, x);
        if (y + 1 < H) seed(y + 1, x);
        if (x > 0) seed(y, x - 1);
        if (x + 1 < W) seed(y, x + 1);
    }
    auto out_at = [&](int64_t y, int64_t x) {
        return y < 0 || x < 0 || y >= H || x >= W || outside[size_t(y * W + x)];
    };
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            if (outside[size_t(y * W + x)]) continue;
            if (out_at(y - 1, x) || out_at(y + 1, x) || out_at(y, x - 1) || out_at(y, x + 1)) put(x, y);
        }
}

// The geometric effects of `flags` for a non-empty mask (s.count > 0), in the fixed order circle,
// rectangle, contour. put(x, y) must clip to the image.
template <class Put>
void draw_shapes(Put &&put, int flags, const MaskStats &s, const uint8_t *mask, int64_t H, int64_t W) {
    const int64_t cy = s.sum_y / s.count, cx = s.sum_x / s.count;  // non-negative: truncation = int()
    const int64_t hw = (s.max_x - s.min_x + 1) / 2, hh = (s.max_y - s.min_y + 1) / 2;
    if (flags & OVSEG_VP_CIRCLE) draw_ellipse(put, cx, cy, hw, hh);
    if (flags & OVSEG_VP_RECTANGLE) draw_rectangle(put, cx - hw, cy - hh, cx + hw, cy + hh);
    if (flags & OVSEG_VP_CONTOUR) draw_contour(put, mask, H, W);
}

}  // namespace vp
}  // namespace ovseg
