// Pillow's bicubic resampling coefficients (libImaging/Resample.c: precompute_coeffs +
// normalize_coeffs_8bpc), shared by the CPU twin (pil_resize.cpp) and the CUDA kernel
// (kernels/pil_resize.cu), which computes them on the host: the coefficients are the only
// floating-point part, so both twins use this one code path and agree bit for bit.
//
// Per output index xx (one axis, in -> out samples):
//   scale = in / out; filterscale = max(scale, 1)  (shrinking stretches the kernel: antialiasing)
//   support = 2 * filterscale; ksize = 2 * ceil(support) + 1
//   center = (xx + 0.5) * scale
//   xmin = max(0, (int)(center - support + 0.5)); xmax = min(in, (int)(center + support + 0.5)) - xmin
//   w[x] = keys((x + xmin - center + 0.5) / filterscale), Keys cubic with a = -0.5
//   w[x] /= sum(w) (unless the sum is 0); k[x] = (int)(w[x] * 2^22 +- 0.5)  (half away from zero)
// Each pass: out = clip8((2^21 + sum_x in[xmin + x] * k[x]) >> 22), clip8 saturating to 0..255.
// (int) truncates toward zero as C does; these expressions must stay in double and must not be
// contracted to FMAs (the translation units are built without FMA on the host side).
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace ovseg {
namespace pil {

constexpr int kPrecisionBits = 32 - 8 - 2;

inline double bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// One axis's taps: first input index and tap count per output index, ksize fixed-point taps each.
struct Coeffs {
    int ksize = 0;
    std::vector<int32_t> min, count, k;
};

// in, out > 0 and small enough that ksize * out fits memory (checked by the callers).
inline Coeffs coeffs(int64_t in, int64_t out) {
    Coeffs c;
    double scale = double(in) / double(out);
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    c.ksize = int(std::ceil(support)) * 2 + 1;
    c.min.assign(size_t(out), 0);
    c.count.assign(size_t(out), 0);
    c.k.assign(size_t(out) * size_t(c.ksize), 0);
    std::vector<double> w(size_t(c.ksize));
    double ss = 1.0 / filterscale;
    for (int64_t xx = 0; xx < out; ++xx) {
        double center = (double(xx) + 0.5) * scale;
        int64_t xmin = int64_t(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int64_t xmax = int64_t(center + support + 0.5);
        if (xmax > in) xmax = in;
        xmax -= xmin;
        double ww = 0.0;
        for (int64_t x = 0; x < xmax; ++x) {
            double v = bicubic((double(x + xmin) - center + 0.5) * ss);
            w[size_t(x)] = v;
            ww += v;
        }
        int32_t *k = c.k.data() + size_t(xx) * size_t(c.ksize);
        for (int64_t x = 0; x < xmax; ++x) {
            double v = ww != 0.0 ? w[size_t(x)] / ww : w[size_t(x)];
            double f = v * double(1 << kPrecisionBits);
            k[x] = int32_t(v < 0 ? -0.5 + f : 0.5 + f);
        }
        c.min[size_t(xx)] = int32_t(xmin);
        c.count[size_t(xx)] = int32_t(xmax);
    }
    return c;
}

inline uint8_t clip8(int32_t ss) {
    int32_t v = ss >> kPrecisionBits;
    return uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Largest side either twin accepts: coordinates and tap indices stay in int32.
constexpr int64_t kMaxSide = int64_t(1) << 30;

}  // namespace pil
}  // namespace ovseg
