// Dense CRF: the permutohedral mean-field (ovseg_cpu_dense_crf) against an exact O(N^2)
// mean-field in double precision with the same kernel semantics (self term included, symmetric
// normalisation D^-1/2 K D^-1/2) on a 12x9 image with 3 labels. The lattice is an approximation
// of the Gaussian, so the bounds are on the argmax labels (>= 95% agreement) and on the
// marginals (mean |dQ| <= 0.03; max |dQ| <= 0.25 over the pixels whose labels agree: mean-field
// is bistable on a boundary pixel, where a small kernel error may flip Q entirely). Identity
// cases are exact to 1e-6.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "compare.h"
#include "ovseg.h"

namespace {
int failures = 0;

void report(bool ok, const char *what) {
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (!ok) ++failures;
}

struct Params {
    float gs, gc, bs, br, bc;
    int iters;
};

std::vector<double> softmax_neg(const std::vector<float> &U, int64_t L, int64_t N) {
    std::vector<double> Q(U.size());
    for (int64_t p = 0; p < N; ++p) {
        double mx = -1e300, s = 0;
        for (int64_t l = 0; l < L; ++l) mx = std::max(mx, -double(U[l * N + p]));
        for (int64_t l = 0; l < L; ++l) s += Q[l * N + p] = std::exp(-double(U[l * N + p]) - mx);
        for (int64_t l = 0; l < L; ++l) Q[l * N + p] /= s;
    }
    return Q;
}

// Exact dense mean-field, [L,H,W] in and out.
std::vector<double> naive_crf(const std::vector<float> &U, const std::vector<uint8_t> &rgb,
                              int64_t L, int64_t H, int64_t W, const Params &P) {
    const int64_t N = H * W;
    std::vector<double> Q = softmax_neg(U, L, N);
    struct Kernel {
        std::vector<double> k, norm;
        double w;
    };
    std::vector<Kernel> ks;
    for (int t = 0; t < 2; ++t) {
        const double w = t == 0 ? P.gc : P.bc;
        if (w == 0) continue;
        Kernel K{std::vector<double>(N * N), std::vector<double>(N, 0.0), w};
        for (int64_t i = 0; i < N; ++i)
            for (int64_t j = 0; j < N; ++j) {
                const double dx = double(i % W - j % W), dy = double(i / W - j / W);
                double e;
                if (t == 0) {
                    e = (dx * dx + dy * dy) / (2.0 * P.gs * P.gs);
                } else {
                    double dc = 0;
                    for (int c = 0; c < 3; ++c) {
                        const double d = double(rgb[i * 3 + c]) - double(rgb[j * 3 + c]);
                        dc += d * d;
                    }
                    e = (dx * dx + dy * dy) / (2.0 * P.bs * P.bs) + dc / (2.0 * P.br * P.br);
                }
                K.k[i * N + j] = std::exp(-e);
                K.norm[i] += K.k[i * N + j];
            }
        for (auto &n : K.norm) n = 1.0 / std::sqrt(n);
        ks.push_back(std::move(K));
    }
    for (int it = 0; it < P.iters && !ks.empty(); ++it) {
        std::vector<float> E(U.size());
        std::vector<double> energy(U.begin(), U.end());
        for (const Kernel &K : ks)
            for (int64_t l = 0; l < L; ++l)
                for (int64_t i = 0; i < N; ++i) {
                    double s = 0;
                    for (int64_t j = 0; j < N; ++j) s += K.k[i * N + j] * K.norm[j] * Q[l * N + j];
                    energy[l * N + i] -= K.w * K.norm[i] * s;
                }
        // softmax(-energy), in double
        for (int64_t p = 0; p < N; ++p) {
            double mx = -1e300, s = 0;
            for (int64_t l = 0; l < L; ++l) mx = std::max(mx, -energy[l * N + p]);
            for (int64_t l = 0; l < L; ++l) s += Q[l * N + p] = std::exp(-energy[l * N + p] - mx);
            for (int64_t l = 0; l < L; ++l) Q[l * N + p] /= s;
        }
    }
    return Q;
}

template <class T>
std::vector<int> argmax(const std::vector<T> &Q, int64_t L, int64_t N) {
    std::vector<int> a(N, 0);
    for (int64_t p = 0; p < N; ++p)
        for (int64_t l = 1; l < L; ++l)
            if (Q[l * N + p] > Q[a[p] * N + p]) a[p] = int(l);
    return a;
}

// Three vertical colour bands, noisy colours; unaries favour the band's label (p ~ 0.5) with
// 15% of the pixels flipped to a wrong label.
void scene(int64_t L, int64_t H, int64_t W, std::vector<float> &U, std::vector<uint8_t> &rgb,
           std::vector<int> &truth, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u01(0, 1);
    const int64_t N = H * W;
    U.assign(L * N, 0);
    rgb.assign(N * 3, 0);
    truth.assign(N, 0);
    const uint8_t colours[3][3] = {{200, 40, 40}, {40, 180, 60}, {30, 50, 210}};
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const int64_t p = y * W + x;
            const int t = int(std::min<int64_t>(L - 1, x * L / W));
            truth[p] = t;
            for (int c = 0; c < 3; ++c)
                rgb[p * 3 + c] = uint8_t(std::clamp(colours[t % 3][c] + int(u01(rng) * 20) - 10, 0, 255));
            const int fav = u01(rng) < 0.15 ? int((t + 1 + int(u01(rng) * (L - 1))) % L) : t;
            for (int64_t l = 0; l < L; ++l) {
                const double prob = l == fav ? 0.45 + 0.2 * u01(rng) : 0.1 + 0.2 * u01(rng);
                U[l * N + p] = float(-std::log(prob));
            }
        }
}

void compare(const char *name, const Params &P, unsigned seed) {
    const int64_t L = 3, H = 9, W = 12, N = H * W;
    std::vector<float> U;
    std::vector<uint8_t> rgb;
    std::vector<int> truth;
    scene(L, H, W, U, rgb, truth, seed);
    std::vector<float> Q(L * N, -1.0f);
    const int rc = ovseg_cpu_dense_crf(U.data(), rgb.data(), L, H, W, P.gs, P.gc, P.bs, P.br, P.bc, P.iters, Q.data());
    if (rc != OVSEG_OK) {
        std::printf("FAIL %s: status %d\n", name, rc);
        ++failures;
        return;
    }
    const std::vector<double> R = naive_crf(U, rgb, L, H, W, P);
    const auto a = argmax(Q, L, N), b = argmax(R, L, N), u = argmax(softmax_neg(U, L, N), L, N);
    ovseg_test::WorstError worst;
    double mean = 0;
    for (size_t i = 0; i < R.size(); ++i) {
        const double e = std::fabs(Q[i] - R[i]);
        if (a[i % N] == b[i % N]) worst.add(e);
        mean += e / R.size();
    }
    int agree = 0, right_crf = 0, right_naive = 0, right_unary = 0;
    for (int64_t p = 0; p < N; ++p) {
        agree += a[p] == b[p];
        right_crf += a[p] == truth[p];
        right_naive += b[p] == truth[p];
        right_unary += u[p] == truth[p];
    }
    const double agreement = double(agree) / N;
    const bool ok = agreement >= 0.95 && mean <= 0.03 && worst.within(0.25);
    std::printf("%s %s: label agreement %.3f, mean |dQ| %.4f, max |dQ| (agreeing pixels) %.4f; correct pixels: unary %d, "
                "naive %d, lattice %d of %lld\n",
                ok ? "PASS" : "FAIL", name, agreement, mean, worst.value(), right_unary, right_naive, right_crf,
                (long long)N);
    if (!ok) ++failures;
}

void identity_cases() {
    const int64_t L = 3, H = 9, W = 12, N = H * W;
    std::vector<float> U;
    std::vector<uint8_t> rgb;
    std::vector<int> truth;
    scene(L, H, W, U, rgb, truth, 7);
    const std::vector<double> S = softmax_neg(U, L, N);
    const Params cases[] = {{1, 0, 67, 3, 0, 10}, {1, 3, 67, 3, 4, 0}};
    for (const Params &P : cases) {
        std::vector<float> Q(L * N, -1.0f);
        const int rc = ovseg_cpu_dense_crf(U.data(), rgb.data(), L, H, W, P.gs, P.gc, P.bs, P.br, P.bc, P.iters, Q.data());
        ovseg_test::WorstError worst;
        if (rc != OVSEG_OK) worst.add(1);
        for (size_t i = 0; i < S.size(); ++i) worst.add(std::fabs(Q[i] - S[i]));
        char what[128];
        std::snprintf(what, sizeof what, "identity (compat %g/%g, %d iterations) = softmax(-U), max err %.1e",
                      P.gc, P.bc, P.iters, worst.value());
        report(worst.within(1e-6), what);
    }
}

void argument_cases() {
    float u[6] = {0}, q[6];
    uint8_t rgb[6] = {0};
    report(ovseg_cpu_dense_crf(u, rgb, -1, 1, 2, 1, 3, 67, 3, 4, 1, q) == OVSEG_ERR_INVALID_ARGUMENT, "negative L rejected");
    report(ovseg_cpu_dense_crf(u, rgb, 3, 1, 2, 1, 3, 67, 3, 4, -1, q) == OVSEG_ERR_INVALID_ARGUMENT, "negative iterations rejected");
    report(ovseg_cpu_dense_crf(nullptr, rgb, 3, 1, 2, 1, 3, 67, 3, 4, 1, q) == OVSEG_ERR_INVALID_ARGUMENT, "null unary rejected");
    report(ovseg_cpu_dense_crf(u, rgb, 3, 1, 2, 0, 3, 67, 3, 4, 1, q) == OVSEG_ERR_INVALID_ARGUMENT, "sxy 0 rejected");
    report(ovseg_cpu_dense_crf(u, rgb, 3, 1, 2, 1, 3, 67, NAN, 4, 1, q) == OVSEG_ERR_INVALID_ARGUMENT, "srgb NaN rejected");
    report(ovseg_cpu_dense_crf(u, rgb, 3, 1, 2, 0, 0, 67, 3, 4, 1, q) == OVSEG_OK, "unused kernel's sxy not checked");
    report(ovseg_cpu_dense_crf(nullptr, nullptr, 3, 0, 5, 1, 3, 67, 3, 4, 1, nullptr) == OVSEG_OK, "empty image is OK");
    float one[1] = {2.0f}, qo[1] = {0};
    uint8_t px[3] = {1, 2, 3};
    report(ovseg_cpu_dense_crf(one, px, 1, 1, 1, 1, 3, 67, 3, 4, 5, qo) == OVSEG_OK && qo[0] == 1.0f, "single pixel, single label: Q = 1");
}
}  // namespace

int main() {
    compare("CaR defaults (g 1/3, b 67/3/4, 10 it)", {1, 3, 67, 3, 4, 10}, 1);
    compare("CaR defaults, second scene", {1, 3, 67, 3, 4, 10}, 2);
    compare("wide kernels (g 3/3, b 5/30/5, 5 it)", {3, 3, 5, 30, 5, 5}, 3);
    compare("gaussian only (g 2/4, 10 it)", {2, 4, 1, 1, 0, 10}, 4);
    compare("bilateral only (b 20/15/6, 10 it)", {1, 0, 20, 15, 6, 10}, 5);
    identity_cases();
    argument_cases();
    std::printf("%s\n", failures ? "crf_check: FAILED" : "crf_check: all passed");
    return failures ? 1 : 0;
}
