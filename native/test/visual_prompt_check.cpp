// ovseg_cpu_visual_prompt on hand-made cases: blur of a uniform image, blur against a double
// precision Gaussian (|diff| <= 1), gray quirk weights, black, rectangle coordinates, ellipse
// distance to the analytic curve and coverage, contour = boundary of the hole-filled mask,
// the sum(cam) <= 1 copy, the empty mask, image-edge shapes, argument errors.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "ovseg.h"

namespace {
int failures = 0;

void check(bool ok, const char *what) {
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (!ok) ++failures;
}

using Img = std::vector<uint8_t>;

Img run(const Img &rgb, const std::vector<float> &cam, int64_t H, int64_t W, float thr, int flags,
        int *rc = nullptr) {
    Img out(size_t(H * W * 3), 7);
    int r = ovseg_cpu_visual_prompt(rgb.data(), cam.data(), H, W, thr, flags, out.data());
    if (rc) *rc = r;
    else if (r != OVSEG_OK) {
        std::printf("FAIL status %d\n", r);
        ++failures;
    }
    return out;
}

bool is_red(const Img &im, int64_t W, int64_t y, int64_t x) {
    const uint8_t *p = &im[size_t((y * W + x) * 3)];
    return p[0] == 255 && p[1] == 0 && p[2] == 0;
}

Img checker(int64_t H, int64_t W) {
    Img im(size_t(H * W * 3));
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
            for (int c = 0; c < 3; ++c) im[size_t((y * W + x) * 3 + c)] = ((x + y) & 1) ? 200 : 10 + 20 * c;
    return im;
}

// cam with a filled block [y0,y1] x [x0,x1] at 1, 0 elsewhere.
std::vector<float> block(int64_t H, int64_t W, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    std::vector<float> cam(size_t(H * W), 0.0f);
    for (int64_t y = y0; y <= y1; ++y)
        for (int64_t x = x0; x <= x1; ++x) cam[size_t(y * W + x)] = 1.0f;
    return cam;
}

int64_t reflect101(int64_t p, int64_t n) {
    if (n == 1) return 0;
    while (p < 0 || p >= n) p = p < 0 ? -p : 2 * n - 2 - p;
    return p;
}

void test_blur() {
    const int64_t H = 23, W = 31;
    Img uni(size_t(H * W * 3));
    for (size_t i = 0; i < uni.size(); ++i) uni[i] = uint8_t(i % 3 == 0 ? 200 : i % 3 == 1 ? 37 : 255);
    auto empty = std::vector<float>(size_t(H * W), 0.5f);  // sum > 1, nothing above 0.9
    Img o = run(uni, empty, H, W, 0.9f, OVSEG_VP_BLUR);
    check(o == uni, "blur keeps a uniform image (whole image outside)");

    Img ch = checker(H, W);
    auto cam = block(H, W, 5, 12, 8, 20);
    o = run(ch, cam, H, W, 0.5f, OVSEG_VP_BLUR);
    bool inside_same = true, outside_changed = false, close = true;
    // double-precision Gaussian, sigma 2.6, reflect-101
    double k[15], s = 0;
    for (int t = 0; t < 15; ++t) s += (k[t] = std::exp(-(t - 7) * (t - 7) / (2 * 2.6 * 2.6)));
    for (double &v : k) v /= s;
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
            for (int c = 0; c < 3; ++c) {
                size_t i = size_t((y * W + x) * 3 + c);
                if (cam[size_t(y * W + x)] > 0.5f) { inside_same &= o[i] == ch[i]; continue; }
                outside_changed |= o[i] != ch[i];
                double acc = 0;
                for (int a = 0; a < 15; ++a)
                    for (int b = 0; b < 15; ++b)
                        acc += k[a] * k[b] * ch[size_t((reflect101(y + a - 7, H) * W + reflect101(x + b - 7, W)) * 3 + c)];
                close &= std::fabs(o[i] - acc) <= 1.0;
            }
    check(inside_same, "blur leaves pixels inside the mask untouched");
    check(outside_changed, "blur changes the checkerboard outside the mask");
    check(close, "blur within 1 of a double-precision Gaussian (reflect-101)");

    // tiny images: reflect-101 wraps repeatedly; must not read out of bounds
    Img one = {10, 20, 30};
    std::vector<float> c1 = {2.0f};
    o = run(one, c1, 1, 1, 5.0f, OVSEG_VP_BLUR);
    check(o[0] >= 9 && o[0] <= 11 && o[2] >= 29 && o[2] <= 31, "blur of a 1x1 image");
    Img two = checker(2, 3);
    std::vector<float> c2(6, 1.0f);
    o = run(two, c2, 2, 3, 5.0f, OVSEG_VP_BLUR);
    check(o.size() == 18, "blur of a 2x3 image");
}

void test_gray_black() {
    const int64_t H = 4, W = 5;
    Img im(size_t(H * W * 3));
    for (size_t i = 0; i < im.size(); i += 3) { im[i] = 200; im[i + 1] = 100; im[i + 2] = 50; }
    auto cam = block(H, W, 1, 2, 1, 3);
    Img o = run(im, cam, H, W, 0.5f, OVSEG_VP_GRAY);
    // (200*3735 + 100*19235 + 50*9798 + 16384) >> 15 = 3176784 >> 15 = 96 (96.95, truncated)
    bool ok = true;
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const uint8_t *p = &o[size_t((y * W + x) * 3)];
            if (cam[size_t(y * W + x)] > 0.5f) ok &= p[0] == 200 && p[1] == 100 && p[2] == 50;
            else ok &= p[0] == 96 && p[1] == 96 && p[2] == 96;
        }
    check(ok, "gray outside = 96 for RGB (200,100,50) with the BGR2GRAY quirk");
    o = run(im, cam, H, W, 0.5f, OVSEG_VP_BLACK | OVSEG_VP_GRAY);
    ok = true;
    for (int64_t i = 0; i < H * W; ++i) {
        const uint8_t *p = &o[size_t(i * 3)];
        if (cam[size_t(i)] > 0.5f) ok &= p[0] == 200 && p[1] == 100 && p[2] == 50;
        else ok &= p[0] == 0 && p[1] == 0 && p[2] == 0;
    }
    check(ok, "black outside, inside untouched");
}

void test_rectangle() {
    const int64_t H = 20, W = 30;
    Img im(size_t(H * W * 3), 0);
    auto cam = block(H, W, 4, 10, 6, 15);  // bw = 10, bh = 7, centroid (y 7, x 10.5 -> 10)
    Img o = run(im, cam, H, W, 0.5f, OVSEG_VP_RECTANGLE);
    // x in [10-5, 10+5] = [5,15], y in [7-3, 7+3] = [4,10]
    bool ok = true;
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            bool edge = (x >= 5 && x <= 15 && (y == 4 || y == 10)) || (y >= 4 && y <= 10 && (x == 5 || x == 15));
            ok &= is_red(o, W, y, x) == edge;
            if (!edge) ok &= o[size_t((y * W + x) * 3)] == 0;
        }
    check(ok, "rectangle outline at centroid +- half extents");
    // Clipped at the image edge: mask at the top-left corner.
    auto cam2 = block(H, W, 0, 0, 0, 5);  // bw 6 -> 3, bh 1 -> 0; centroid (0, 2)
    o = run(im, cam2, H, W, 0.5f, OVSEG_VP_RECTANGLE);
    ok = true;
    for (int64_t x = 0; x < W; ++x) ok &= is_red(o, W, 0, x) == (x <= 5);
    for (int64_t y = 1; y < H; ++y) for (int64_t x = 0; x < W; ++x) ok &= !is_red(o, W, y, x);
    check(ok, "rectangle clipped at the image border");
}

void test_circle() {
    const int64_t H = 60, W = 80;
    Img im(size_t(H * W * 3), 30);
    auto cam = block(H, W, 10, 40, 15, 64);  // bw 50 -> a 25, bh 31 -> b 15; centre (x 39, y 25)
    Img o = run(im, cam, H, W, 0.5f, OVSEG_VP_CIRCLE);
    const double cx = 39, cy = 25, a = 25, b = 15;
    bool only_red = true, near = true;
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const uint8_t *p = &o[size_t((y * W + x) * 3)];
            if (p[0] == 30 && p[1] == 30 && p[2] == 30) continue;
            if (!is_red(o, W, y, x)) { only_red = false; continue; }
            // distance to the analytic ellipse (dense sampling of the curve)
            double best = 1e9;
            for (int i = 0; i < 3600; ++i) {
                double th = 2 * M_PI * i / 3600;
                best = std::fmin(best, std::hypot(x - cx - a * std::cos(th), y - cy - b * std::sin(th)));
            }
            near &= best <= 1.0;
        }
    // coverage: analytic points (1 per degree) with a red pixel within 1 px (Chebyshev)
    int covered = 0;
    for (int i = 0; i < 360; ++i) {
        double th = 2 * M_PI * i / 360;
        int64_t px = std::lround(cx + a * std::cos(th)), py = std::lround(cy + b * std::sin(th));
        bool any = false;
        for (int64_t dy = -1; dy <= 1; ++dy)
            for (int64_t dx = -1; dx <= 1; ++dx) any |= is_red(o, W, py + dy, px + dx);
        covered += any;
    }
    check(only_red, "circle draws red pixels only");
    check(near, "circle pixels within 1 px of the analytic ellipse");
    check(covered >= 288, "circle covers at least 80% of the angles");
    // Near the border: clipped, no crash.
    auto cam2 = block(H, W, 0, 3, 0, 59);
    o = run(im, cam2, H, W, 0.5f, OVSEG_VP_CIRCLE);
    check(is_red(o, W, 0, 0) || is_red(o, W, 1, 0) || is_red(o, W, 2, 0), "circle clipped at the image border");
}

void test_contour() {
    const int64_t H = 12, W = 14;
    Img im(size_t(H * W * 3), 50);
    auto cam = block(H, W, 2, 9, 3, 11);
    cam[size_t(5 * W + 7)] = 0;  // a hole: filled before the boundary is taken
    cam[size_t(6 * W + 7)] = 0;
    for (int64_t x = 0; x < 3; ++x) cam[size_t(0 * W + x)] = 1;  // touches the top edge
    Img o = run(im, cam, H, W, 0.5f, OVSEG_VP_CONTOUR);
    bool ok = true;
    auto in = [&](int64_t y, int64_t x) {
        if (y < 0 || x < 0 || y >= H || x >= W) return false;
        if ((y == 5 || y == 6) && x == 7) return true;  // filled hole
        return cam[size_t(y * W + x)] > 0.5f;
    };
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            bool bnd = in(y, x) && (!in(y - 1, x) || !in(y + 1, x) || !in(y, x - 1) || !in(y, x + 1));
            ok &= is_red(o, W, y, x) == bnd;
        }
    check(ok, "contour = boundary of the hole-filled mask (incl. image edge)");
}

void test_copy_and_errors() {
    const int64_t H = 5, W = 6;
    Img ch = checker(H, W);
    std::vector<float> cam(size_t(H * W), 0.0f);
    cam[3] = 1.0f;  // sum == 1: no prompt
    Img o = run(ch, cam, H, W, 0.5f, 63);
    check(o == ch, "sum(cam) <= 1 copies the image");
    cam[4] = 0.01f;
    o = run(ch, cam, H, W, 0.5f, OVSEG_VP_BLACK);
    bool ok = true;
    for (int64_t i = 0; i < H * W; ++i)
        for (int c = 0; c < 3; ++c) ok &= o[size_t(i * 3 + c)] == (i == 3 ? ch[size_t(i * 3 + c)] : 0);
    check(ok, "sum(cam) > 1 applies the prompt");
    // in place
    Img inplace = ch;
    int rc = ovseg_cpu_visual_prompt(inplace.data(), cam.data(), H, W, 0.5f, OVSEG_VP_BLUR | OVSEG_VP_RECTANGLE, inplace.data());
    Img ref = run(ch, cam, H, W, 0.5f, OVSEG_VP_BLUR | OVSEG_VP_RECTANGLE);
    check(rc == OVSEG_OK && inplace == ref, "out == rgb gives the same result");
    Img out(size_t(H * W * 3));
    check(ovseg_cpu_visual_prompt(ch.data(), cam.data(), -1, W, 0.5f, 1, out.data()) == OVSEG_ERR_INVALID_ARGUMENT, "negative H");
    check(ovseg_cpu_visual_prompt(ch.data(), cam.data(), H, W, 0.5f, 64, out.data()) == OVSEG_ERR_INVALID_ARGUMENT, "unknown flag");
    check(ovseg_cpu_visual_prompt(nullptr, cam.data(), H, W, 0.5f, 1, out.data()) == OVSEG_ERR_INVALID_ARGUMENT, "null rgb");
    check(ovseg_cpu_visual_prompt(ch.data(), nullptr, H, W, 0.5f, 1, out.data()) == OVSEG_ERR_INVALID_ARGUMENT, "null cam");
    check(ovseg_cpu_visual_prompt(ch.data(), cam.data(), H, W, 0.5f, 1, nullptr) == OVSEG_ERR_INVALID_ARGUMENT, "null out");
    check(ovseg_cpu_visual_prompt(nullptr, nullptr, 0, W, 0.5f, 1, nullptr) == OVSEG_OK, "empty image");
}
}  // namespace

int main() {
    test_blur();
    test_gray_black();
    test_rectangle();
    test_circle();
    test_contour();
    test_copy_and_errors();
    std::printf(failures ? "%d FAILED\n" : "all passed\n", failures);
    return failures ? 1 : 0;
}
