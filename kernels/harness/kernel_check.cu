/*
 * ovseg_kernel_check: native test-and-benchmark harness for libovseg_cuda (ctest: kernel_check).
 *
 *   ovseg_kernel_check [--json FILE] [--no-bench] [--reps N]
 *
 * 1. If ovseg_cuda_device_count fails (no driver, no GPU): prints "no GPU, skipped: <reason>" and
 *    exits 0, so the test passes on build machines without a GPU.
 * 2. Correctness: every kernel, every dtype, at shapes chosen to hit every loop tail of the tile
 *    geometry (see the shape tables below), against the CPU twins of libovseg_cpu. The CPU gets
 *    exactly the values the GPU sees (fp16/bf16 inputs are rounded on the host and widened back),
 *    so differences come only from the order of fp32 accumulation. Tolerances, elementwise,
 *    |gpu - cpu| <= atol * s + rtol * |cpu|:
 *        fp32       atol = rtol = 1e-4
 *        fp16/bf16  atol = rtol = 1e-3   (looser by policy; the inputs are identical, so these
 *                                         are expected to pass at the fp32 level as well)
 *    with s = max(1, |tau|) for dense-projection logits/scores (the logit scale multiplies the
 *    cosine error) and s = 1 elsewhere. Arg-max labels may differ from the CPU only where the
 *    CPU's logit of the GPU's label is within that tolerance of the CPU's maximum (a near tie);
 *    the same rule holds for hard slot assignment (checked with logits recomputed in double; the
 *    updates are then not compared for that case). Outputs are pre-filled with NaN so that an
 *    element the kernel forgot to write fails. Argument validation (NULL, negative sizes, bad
 *    dtype/mode, S > 64) and zero sizes are checked too. Any failure: exit code 1.
 * 3. Benchmarks at the representative shapes: CUDA events around each launch, 3 warm-ups, the
 *    median of --reps (default 20) repetitions, the L2 flushed before each repetition by a
 *    memset of a buffer twice the L2 size. Reports time, achieved GB/s (compulsory traffic:
 *    inputs + parameters + outputs once) and GFLOP/s, each as a fraction of the device's peak
 *    (DRAM: 2 * memory clock * bus width; fp32: SMs * FP32 lanes * 2 * SM clock, else a table by
 *    name for H100/H200), and the CPU twin's time for the same shape (median of 3).
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ovseg.h"

namespace {

int g_failures = 0;
int g_checks = 0;

[[noreturn]] void die(const char *what, int st) {
    std::printf("FATAL %s: %s (%s)\n", what, ovseg_status_string(st), ovseg_cuda_last_error());
    std::exit(2);
}
#define API(call)                                         \
    do {                                                  \
        int st_ = (call);                                 \
        if (st_ != OVSEG_OK) die(#call, st_);             \
    } while (0)
#define RT(call)                                                                        \
    do {                                                                                \
        cudaError_t e_ = (call);                                                        \
        if (e_ != cudaSuccess) {                                                        \
            std::printf("FATAL %s: %s\n", #call, cudaGetErrorString(e_));               \
            std::exit(2);                                                               \
        }                                                                               \
    } while (0)

void report(bool ok, const std::string &name, const std::string &detail) {
    ++g_checks;
    if (!ok) ++g_failures;
    std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : "  ",
                detail.c_str());
}

/* ---- data ---------------------------------------------------------------------------- */
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint32_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return (uint32_t)(s >> 16);
    }
    float uniform() { return (next() & 0xFFFFFF) / 16777216.0f; }
    float normal() {
        float u1 = std::max(uniform(), 1e-7f), u2 = uniform();
        return std::sqrt(-2.f * std::log(u1)) * std::cos(6.2831853f * u2);
    }
    std::vector<float> normals(size_t n, float sd = 1.f) {
        std::vector<float> v(n);
        for (auto &x : v) x = normal() * sd;
        return v;
    }
};

const char *dtype_name(int dt) { return dt == OVSEG_F32 ? "fp32" : dt == OVSEG_F16 ? "fp16" : "bf16"; }
size_t dtype_size(int dt) { return dt == OVSEG_F32 ? 4 : 2; }

/* Encodes x in dtype; x is replaced by the values the device will actually see. */
std::vector<uint8_t> encode(std::vector<float> &x, int dt) {
    std::vector<uint8_t> raw(x.size() * dtype_size(dt));
    for (size_t i = 0; i < x.size(); ++i) {
        if (dt == OVSEG_F32) {
            std::memcpy(raw.data() + 4 * i, &x[i], 4);
        } else if (dt == OVSEG_F16) {
            __half h = __float2half(x[i]);
            x[i] = __half2float(h);
            std::memcpy(raw.data() + 2 * i, &h, 2);
        } else {
            __nv_bfloat16 h = __float2bfloat16(x[i]);
            x[i] = __bfloat162float(h);
            std::memcpy(raw.data() + 2 * i, &h, 2);
        }
    }
    return raw;
}

struct Dev {
    void *p = nullptr;
    size_t bytes = 0;
    Dev() = default;
    explicit Dev(size_t n) : bytes(n) { API(ovseg_cuda_malloc(&p, n)); }
    Dev(const void *host, size_t n) : bytes(n) {
        API(ovseg_cuda_malloc(&p, n));
        API(ovseg_cuda_memcpy_h2d(p, host, n, nullptr));
    }
    Dev(const Dev &) = delete;
    Dev &operator=(const Dev &) = delete;
    ~Dev() { ovseg_cuda_free(p); }
    template <typename T> T *as() const { return (T *)p; }
    void fill_nan() { API(ovseg_cuda_memset(p, 0xFF, bytes, nullptr)); } /* 0xFFFFFFFF: NaN, label -1 */
    template <typename T> std::vector<T> get(size_t n) const {
        std::vector<T> h(n);
        API(ovseg_cuda_memcpy_d2h(h.data(), p, n * sizeof(T), nullptr));
        API(ovseg_cuda_stream_synchronize(nullptr));
        return h;
    }
};
template <typename T> Dev upload(const std::vector<T> &h) { return Dev(h.data(), h.size() * sizeof(T)); }

struct Tol {
    float atol, rtol;
};
Tol tol_for(int dt) { return dt == OVSEG_F32 ? Tol{1e-4f, 1e-4f} : Tol{1e-3f, 1e-3f}; }

/* Returns a detail string, empty when everything is within tolerance. */
std::string compare(const std::vector<float> &g, const std::vector<float> &c, Tol t, float s = 1.f) {
    if (c.size() < g.size()) return "internal: reference shorter than result";
    size_t bad = 0, worst = 0;
    double worst_excess = -1;
    for (size_t i = 0; i < g.size(); ++i) {
        const float a = g[i], b = c[i];
        bool ok;
        double excess = 0;
        /* No output is NaN by contract, so a NaN on either side is a failure (also NaN against
         * NaN: the CPU twin is the reference, not an oracle); an infinity must match exactly
         * (K = 0 scores are -inf on both). */
        if (std::isnan(b) || std::isnan(a)) { ok = false; excess = NAN; }
        else if (std::isinf(b) || std::isinf(a)) ok = a == b;
        else {
            const double lim = (double)t.atol * s + (double)t.rtol * std::fabs(b);
            excess = std::fabs((double)a - b) / lim;
            ok = excess <= 1.0;
        }
        if (!ok) {
            ++bad;
            if (excess > worst_excess || std::isnan(excess)) { worst_excess = excess; worst = i; }
        }
    }
    if (!bad) return "";
    char buf[200];
    std::snprintf(buf, sizeof buf, "%zu/%zu elements off, e.g. [%zu] gpu %.7g cpu %.7g", bad,
                  c.size(), worst, (double)g[worst], (double)c[worst]);
    return buf;
}

/* compare() must fail on a NaN wherever it sits; runs before the device probe, so also without
 * a GPU. Returns the number of wrong verdicts. */
int check_compare_rejects_nan() {
    const float nan = NAN, inf = INFINITY;
    const std::vector<float> ref = {1.f, 2.f, 3.f, 4.f, -inf};
    struct Case { std::vector<float> got; bool pass; const char *what; } cases[] = {
        {{1.f, 2.f, 3.f, 4.f, -inf}, true, "equal"},
        {{1.f, nan, 3.f, 9.f, -inf}, false, "NaN in the middle, a larger error after it"},
        {{1.f, 2.f, 3.f, 4.f, nan}, false, "NaN where -inf is expected"},
        {{1.f, 2.f, inf, 4.f, -inf}, false, "inf where finite is expected"},
    };
    int wrong = 0;
    for (const Case &c : cases) {
        const bool passed = compare(c.got, ref, Tol{1e-4f, 1e-4f}).empty();
        if (passed != c.pass) { std::printf("FAIL comparator: %s\n", c.what); ++wrong; }
    }
    std::vector<float> nan_ref = {1.f, nan};
    if (compare({1.f, nan}, nan_ref, Tol{1e-4f, 1e-4f}).empty()) { std::printf("FAIL comparator: NaN against NaN\n"); ++wrong; }
    std::printf("%s comparator self-check (NaN anywhere fails)\n", wrong ? "FAIL" : "PASS");
    return wrong;
}

std::string shape_str(std::initializer_list<std::pair<const char *, int64_t>> dims) {
    std::string s;
    for (auto &d : dims) {
        if (!s.empty()) s += ",";
        s += d.first;
        s += "=" + std::to_string(d.second);
    }
    return s;
}

/* ---- dense projection ---------------------------------------------------------------- */
struct DenseShape { int64_t B, P, D, E, K; };
/* Tile geometry: proj_gemm 32 tokens x 64 outputs x 32-wide k; classify 32 classes x 32 tokens,
 * 16 class rows of threads; norms by 32 lanes. */
const DenseShape kDenseShapes[] = {
    {1, 1, 1, 1, 1},         /* every tile is a 1-element partial tile */
    {2, 97, 77, 33, 5},      /* P = 3*32+1; B*P = 194 so a proj tile straddles the batches; D = 2*32+13
                                k tail; E = 33: output tail and one lane past a warp in the norm;
                                K = 5 < 16: whole thread rows own no class */
    {1, 64, 64, 64, 1},      /* exact multiples everywhere, K = 1 */
    {3, 50, 130, 200, 33},   /* K = 33: two class tiles merged by atomicMax; E = 200: 3 full + tail */
    {1, 784, 768, 512, 171}, /* the MaskCLIP shape: 6 class tiles, the last with 11 classes */
    {2, 5, 0, 8, 3},         /* D = 0: z = bias */
    {2, 5, 8, 0, 3},         /* E = 0: every logit is 0, label 0 */
    {2, 5, 8, 8, 0},         /* K = 0: labels -1, scores -inf */
    {2, 0, 8, 8, 3},         /* P = 0: nothing written */
};

void check_dense(const DenseShape &sh, int dt, bool with_bias, uint64_t seed) {
    const int64_t B = sh.B, P = sh.P, D = sh.D, E = sh.E, K = sh.K;
    Rng rng(seed);
    std::vector<float> F = rng.normals(B * P * D);
    std::vector<float> W = rng.normals(E * D, D > 0 ? 1.f / std::sqrt((float)D) : 1.f);
    std::vector<float> bias = rng.normals(E, 0.1f);
    std::vector<float> T = rng.normals(K * E);
    for (int64_t k = 0; k < K; ++k) {
        double n = 0;
        for (int64_t e = 0; e < E; ++e) n += (double)T[k * E + e] * T[k * E + e];
        for (int64_t e = 0; e < E; ++e) T[k * E + e] = (float)(T[k * E + e] / std::max(std::sqrt(n), 1e-12));
    }
    const float tau = 100.f; /* CLIP's logit scale */
    std::vector<uint8_t> Fraw = encode(F, dt);

    /* at least one element each: the CPU twin rejects three NULL outputs even when P == 0 */
    std::vector<float> cl(std::max<int64_t>(1, B * K * P)), cs(std::max<int64_t>(1, B * P));
    std::vector<int32_t> cb(std::max<int64_t>(1, B * P));
    int st = ovseg_cpu_dense_projection(F.data(), B, P, D, W.data(), with_bias ? bias.data() : nullptr,
                                        E, T.data(), K, tau, cl.data(), cb.data(), cs.data());
    const std::string name = std::string("dense_projection ") + dtype_name(dt) + " " +
                             shape_str({{"B", B}, {"P", P}, {"D", D}, {"E", E}, {"K", K}}) +
                             (with_bias ? "" : " bias=NULL");
    if (st != OVSEG_OK) {
        report(false, name, std::string("CPU twin failed: ") + ovseg_status_string(st));
        return;
    }
    Dev dF = upload(Fraw), dW = upload(W), db = upload(bias), dT = upload(T);
    const Tol t = tol_for(dt);
    const float s = std::max(1.f, std::fabs(tau));
    for (int mode = 0; mode < 3; ++mode) { /* 0 logits only, 1 fused labels+scores, 2 all three */
        const bool want_logits = mode != 1, want_labels = mode != 0;
        Dev gl(std::max<size_t>(1, B * K * P * 4)), gb(std::max<size_t>(1, B * P * 4)),
            gs(std::max<size_t>(1, B * P * 4));
        gl.fill_nan(); gb.fill_nan(); gs.fill_nan();
        st = ovseg_cuda_dense_projection(dt, dF.p, B, P, D, dW.as<float>(),
                                         with_bias ? db.as<float>() : nullptr, E, dT.as<float>(), K,
                                         tau, want_logits ? gl.as<float>() : nullptr,
                                         want_labels ? gb.as<int32_t>() : nullptr,
                                         want_labels ? gs.as<float>() : nullptr, nullptr);
        if (st == OVSEG_OK) st = ovseg_cuda_stream_synchronize(nullptr);
        const std::string mname = name + (mode == 0 ? " [logits]" : mode == 1 ? " [labels+scores]" : " [all]");
        if (st != OVSEG_OK) {
            report(false, mname, std::string(ovseg_status_string(st)) + ": " + ovseg_cuda_last_error());
            continue;
        }
        std::string detail;
        if (want_logits) {
            std::string d = compare(gl.get<float>(B * K * P), cl, t, s);
            if (!d.empty()) detail += "logits: " + d + "; ";
        }
        size_t near_ties = 0;
        if (want_labels) {
            std::string d = compare(gs.get<float>(B * P), cs, t, s);
            if (!d.empty()) detail += "scores: " + d + "; ";
            std::vector<int32_t> lab = gb.get<int32_t>(B * P);
            size_t bad = 0;
            for (int64_t m = 0; m < B * P; ++m) {
                if (lab[m] == cb[m]) continue;
                const int64_t b = m / std::max<int64_t>(P, 1), p = m % std::max<int64_t>(P, 1);
                const int32_t g = lab[m];
                const bool near = g >= 0 && g < K &&
                                  cl[(b * K + g) * P + p] >= cs[m] - (t.atol * s + t.rtol * std::fabs(cs[m]));
                if (near) ++near_ties;
                else ++bad;
            }
            if (bad) detail += "labels: " + std::to_string(bad) + " mismatches beyond near ties; ";
        }
        if (near_ties) detail += "(" + std::to_string(near_ties) + " near-tie label differences tolerated)";
        report(detail.empty() || detail[0] == '(', mname, detail);
    }
}

/* ---- mask pooling -------------------------------------------------------------------- */
struct MaskShape { int64_t B, C, Q, HW; };
/* Tile geometry: 32 masks x 64 channels x 32-pixel k slices, split-K chunks (multiples of 32,
 * >= 128 pixels), finalize blocks of 256 threads striding C and HW. */
const MaskShape kMaskShapes[] = {
    {1, 1, 1, 1},      /* minimal */
    {2, 77, 7, 97},    /* C = 64+13, Q = 7 < 32, HW = 3*32+1, one split, B = 2 */
    {1, 130, 33, 1000},/* Q = 33: two mask tiles; C = 130: 3 channel tiles; 7 splits of 160 pixels,
                          the last one 40 */
    {1, 300, 100, 1024},/* C > 256 (finalize stride loop), Q = 100 as in the model */
    {2, 8, 0, 16},     /* Q = 0: nothing written */
    {2, 8, 3, 0},      /* HW = 0: zeros */
    {2, 0, 3, 16},     /* C = 0: empty */
};

void check_mask(const MaskShape &sh, int dt, int mode, int normalize, uint64_t seed) {
    const int64_t B = sh.B, C = sh.C, Q = sh.Q, HW = sh.HW;
    Rng rng(seed);
    std::vector<float> F = rng.normals(B * C * HW);
    std::vector<float> M = rng.normals(B * Q * HW, 3.f);
    if (Q > 0) /* an empty hard mask (and an almost empty soft one): 0 / (0 + 1e-8) */
        for (int64_t p = 0; p < HW; ++p) M[p] = -8.f - std::fabs(M[p]);
    std::vector<uint8_t> Fraw = encode(F, dt), Mraw = encode(M, dt);
    std::vector<float> cout_(B * Q * C);
    const std::string name = std::string("mask_pool ") + dtype_name(dt) + " " +
                             (mode == OVSEG_MASK_HARD ? "hard" : "soft") + (normalize ? " norm " : " ") +
                             shape_str({{"B", B}, {"C", C}, {"Q", Q}, {"HW", HW}});
    int st = ovseg_cpu_mask_pool(F.data(), M.data(), B, C, Q, HW, mode, normalize, cout_.data());
    if (st != OVSEG_OK) {
        report(false, name, std::string("CPU twin failed: ") + ovseg_status_string(st));
        return;
    }
    Dev dF = upload(Fraw), dM = upload(Mraw), dout(std::max<size_t>(1, B * Q * C * 4));
    dout.fill_nan();
    st = ovseg_cuda_mask_pool(dt, dF.p, dM.p, B, C, Q, HW, mode, normalize, dout.as<float>(), nullptr);
    if (st == OVSEG_OK) st = ovseg_cuda_stream_synchronize(nullptr);
    if (st != OVSEG_OK) {
        report(false, name, std::string(ovseg_status_string(st)) + ": " + ovseg_cuda_last_error());
        return;
    }
    const std::string d = compare(dout.get<float>(B * Q * C), cout_, tol_for(dt));
    report(d.empty(), name, d);
}

/* ---- slot attention ------------------------------------------------------------------ */
struct SlotShape { int64_t B, S, N, d, dv; };
/* Tile geometry: 32-token tiles, slots padded to 16 or 64, 32-wide d slices, 64-wide dv chunks,
 * G token groups per batch (a block loops over several tiles when ceil(N/32) > 256/B) and H dv
 * groups. */
const SlotShape kSlotShapes[] = {
    {2, 1, 1, 77, 65},    /* S = 1, N = 1: one valid row of a 32-row tile */
    {2, 7, 113, 77, 65},  /* S = 7 (SB=16 padding), N = 3*32+17, d = 2*32+13, dv = 64+1 (2 chunks,
                             H = 2 dv groups) */
    {2, 16, 113, 77, 65}, /* S = 16: exactly the small padding */
    {2, 17, 113, 77, 65}, /* S = 17: first size of the 64-slot variant */
    {2, 64, 1, 77, 65},   /* S = 64, N = 1 */
    {2, 64, 113, 77, 65}, /* S = 64: both lanes of every warp hold a slot */
    {1, 64, 784, 256, 256},/* the OVSegmentor shape: G = 25 token groups, H = 4 dv groups */
    {16, 5, 600, 40, 70}, /* 19 tiles > 256/16 = 16 groups: blocks accumulate a second tile */
    {2, 7, 0, 8, 8},      /* N = 0: updates = 0 */
    {2, 0, 5, 8, 8},      /* S = 0: nothing */
    {2, 7, 40, 8, 0},     /* dv = 0: assign only */
    {2, 7, 40, 0, 8},     /* d = 0: uniform assignment */
};

void check_slot(const SlotShape &sh, int dt, int hard, float scale, bool with_assign, uint64_t seed) {
    const int64_t B = sh.B, S = sh.S, N = sh.N, d = sh.d, dv = sh.dv;
    Rng rng(seed);
    std::vector<float> q = rng.normals(B * S * d);
    std::vector<float> k(B * N * d);
    std::vector<float> v = rng.normals(B * N * dv);
    /* keys near a random slot's query (clear winners for the hard mode, peaked softmax too) */
    for (int64_t b = 0; b < B; ++b)
        for (int64_t n = 0; n < N; ++n) {
            const int64_t s = S > 0 ? rng.next() % S : 0;
            for (int64_t j = 0; j < d; ++j)
                k[(b * N + n) * d + j] = (S > 0 ? 0.5f * q[(b * S + s) * d + j] : 0.f) + rng.normal();
        }
    std::vector<uint8_t> qr = encode(q, dt), kr = encode(k, dt), vr = encode(v, dt);
    const float eps = 1e-8f;
    char extra[64];
    std::snprintf(extra, sizeof extra, " scale=%g%s", (double)scale, with_assign ? "" : " assign=NULL");
    const std::string name = std::string("slot_attention ") + dtype_name(dt) + (hard ? " hard " : " soft ") +
                             shape_str({{"B", B}, {"S", S}, {"N", N}, {"d", d}, {"dv", dv}}) + extra;
    std::vector<float> cu(B * S * dv), ca(B * N * S);
    int st = ovseg_cpu_slot_attention(q.data(), k.data(), v.data(), B, S, N, d, dv, scale, eps, hard,
                                      cu.data(), ca.data());
    if (st != OVSEG_OK) {
        report(false, name, std::string("CPU twin failed: ") + ovseg_status_string(st));
        return;
    }
    Dev dq = upload(qr), dk = upload(kr), dvv = upload(vr);
    Dev du(std::max<size_t>(1, B * S * dv * 4)), da(std::max<size_t>(1, B * N * S * 4));
    du.fill_nan(); da.fill_nan();
    st = ovseg_cuda_slot_attention(dt, dq.p, dk.p, dvv.p, B, S, N, d, dv, scale, eps, hard,
                                   du.as<float>(), with_assign ? da.as<float>() : nullptr, nullptr);
    if (st == OVSEG_OK) st = ovseg_cuda_stream_synchronize(nullptr);
    if (st != OVSEG_OK) {
        report(false, name, std::string(ovseg_status_string(st)) + ": " + ovseg_cuda_last_error());
        return;
    }
    const Tol t = tol_for(dt);
    std::string detail;
    bool skip_updates = false;
    if (with_assign) {
        std::vector<float> ga = da.get<float>(B * N * S);
        if (hard) {
            size_t bad = 0, near = 0;
            const float sc = scale > 0 ? scale : (d > 0 ? 1.f / std::sqrt((float)d) : 1.f);
            for (int64_t m = 0; m < B * N; ++m) {
                if (std::equal(ga.begin() + m * S, ga.begin() + (m + 1) * S, ca.begin() + m * S)) continue;
                /* near tie? logits in double */
                const int64_t b = m / N;
                std::vector<double> l(S);
                for (int64_t s = 0; s < S; ++s) {
                    double acc = 0;
                    for (int64_t j = 0; j < d; ++j) acc += (double)q[(b * S + s) * d + j] * k[m * d + j];
                    l[s] = acc * sc;
                }
                const int64_t gs = std::max_element(ga.begin() + m * S, ga.begin() + (m + 1) * S) - (ga.begin() + m * S);
                const double best = *std::max_element(l.begin(), l.end());
                if (l[gs] >= best - (t.atol + t.rtol * std::fabs(best))) ++near;
                else ++bad;
            }
            if (bad) detail += "assign: " + std::to_string(bad) + " tokens differ beyond near ties; ";
            if (near) {
                skip_updates = true;
                detail += "(" + std::to_string(near) + " near-tie tokens; updates not compared)";
            }
        } else {
            std::string dd = compare(ga, ca, t);
            if (!dd.empty()) detail += "assign: " + dd + "; ";
        }
    }
    if (!skip_updates) {
        std::string dd = compare(du.get<float>(B * S * dv), cu, t);
        if (!dd.empty()) detail += "updates: " + dd + "; ";
    }
    report(detail.empty() || detail[0] == '(', name, detail);
}

/* ---- dense CRF ------------------------------------------------------------------------ */
/* Synthetic CaR-like input: an image of a few flat colour regions plus noise, unaries from
 * per-region class probabilities with noise (so the CRF has edges to snap to and labels to
 * smooth). The GPU builds the CPU twin's lattice and sums in the CPU's order, so the marginals
 * differ only through expf/sqrt rounding; tolerance |gpu - cpu| <= 1e-4 absolute. */
struct CrfShape { int64_t L, H, W; };
/* Grid-stride loops over N, N*L and M*L elements (256 threads a block): odd sizes leave partial
 * blocks everywhere; L = 1 and L = 7, odd H and W, a single row / column / pixel, shapes of many
 * blocks, and empty ones. */
const CrfShape kCrfShapes[] = {
    {1, 1, 1},    /* one pixel, one label */
    {1, 9, 7},    /* L = 1: softmax is 1 everywhere, the filter still runs */
    {2, 1, 41},   /* one row */
    {3, 33, 1},   /* one column */
    {7, 17, 23},  /* L = 7, odd H and W */
    {7, 61, 47},  /* several blocks for N*L and M*L */
    {21, 75, 100},/* VOC's 21 labels */
    {0, 5, 5},    /* L = 0: nothing written */
    {3, 0, 5},    /* H = 0: nothing written */
};
struct CrfParams { const char *name; int it; float gs, gc, bs, br, bc; };
const CrfParams kCrfParams[] = {
    {"car", 10, 1.f, 3.f, 67.f, 3.f, 4.f}, /* CLIP-as-RNN's settings */
    {"gauss-only", 3, 3.f, 3.f, 0.f, 0.f, 0.f},
    {"bilateral-only", 2, 0.f, 0.f, 20.f, 13.f, 10.f},
    {"iters=0", 0, 1.f, 3.f, 67.f, 3.f, 4.f},
    {"iters=1", 1, 2.f, 1.5f, 30.f, 8.f, 5.f},
};

void crf_inputs(int64_t L, int64_t H, int64_t W, uint64_t seed, std::vector<float> &U, std::vector<uint8_t> &rgb) {
    Rng rng(seed);
    const int64_t N = H * W;
    U.assign((size_t)(L * N), 0.f);
    rgb.assign((size_t)(N * 3), 0);
    const int R = 4; /* regions: a 2x2 split at a random point */
    const int64_t cy = H > 1 ? 1 + rng.next() % (H - 1) : 1, cx = W > 1 ? 1 + rng.next() % (W - 1) : 1;
    uint8_t col[R][3];
    std::vector<float> pr((size_t)(R * std::max<int64_t>(L, 1)));
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < 3; ++c) col[r][c] = (uint8_t)(rng.next() & 255);
        for (int64_t l = 0; l < L; ++l) pr[(size_t)(r * L + l)] = rng.uniform() + (l == r % std::max<int64_t>(L, 1) ? 2.f : 0.f);
    }
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const int r = (y >= cy ? 2 : 0) + (x >= cx ? 1 : 0);
            const int64_t p = y * W + x;
            for (int c = 0; c < 3; ++c) {
                const int v = (int)col[r][c] + (int)(rng.next() % 17) - 8;
                rgb[(size_t)(p * 3 + c)] = (uint8_t)std::min(255, std::max(0, v));
            }
            double s = 0;
            std::vector<double> q((size_t)L);
            for (int64_t l = 0; l < L; ++l) s += q[(size_t)l] = pr[(size_t)(r * L + l)] + 0.7 * rng.uniform();
            for (int64_t l = 0; l < L; ++l) U[(size_t)(l * N + p)] = (float)-std::log(q[(size_t)l] / s);
        }
}

void check_crf(const CrfShape &sh, const CrfParams &pa, uint64_t seed, bool use_stream = false) {
    const int64_t L = sh.L, H = sh.H, W = sh.W, N = H * W;
    std::vector<float> U;
    std::vector<uint8_t> rgb;
    crf_inputs(L, H, W, seed, U, rgb);
    const std::string name = std::string("dense_crf ") + pa.name + " " + shape_str({{"L", L}, {"H", H}, {"W", W}}) +
                             (use_stream ? " (own stream)" : "");
    std::vector<float> cq((size_t)std::max<int64_t>(1, L * N));
    int st = ovseg_cpu_dense_crf(U.data(), rgb.data(), L, H, W, pa.gs, pa.gc, pa.bs, pa.br, pa.bc, pa.it, cq.data());
    if (st != OVSEG_OK) {
        report(false, name, std::string("CPU twin failed: ") + ovseg_status_string(st));
        return;
    }
    Dev dU(std::max<size_t>(4, U.size() * 4)), drgb(std::max<size_t>(1, rgb.size()));
    Dev dq(std::max<size_t>(4, (size_t)(L * N) * 4));
    API(ovseg_cuda_memcpy_h2d(dU.p, U.data(), U.size() * 4, nullptr));
    API(ovseg_cuda_memcpy_h2d(drgb.p, rgb.data(), rgb.size(), nullptr));
    dq.fill_nan();
    void *stream = nullptr;
    if (use_stream) API(ovseg_cuda_stream_create(&stream));
    st = ovseg_cuda_dense_crf(dU.as<float>(), drgb.as<uint8_t>(), L, H, W, pa.gs, pa.gc, pa.bs, pa.br, pa.bc, pa.it,
                              dq.as<float>(), stream);
    if (st == OVSEG_OK) st = ovseg_cuda_stream_synchronize(stream);
    if (use_stream) API(ovseg_cuda_stream_destroy(stream));
    if (st != OVSEG_OK) {
        report(false, name, std::string(ovseg_status_string(st)) + ": " + ovseg_cuda_last_error());
        return;
    }
    std::vector<float> gq = dq.get<float>((size_t)(L * N));
    double worst = 0; /* for the message only; compare() decides. NaN sticks (std::max would drop it) */
    for (size_t i = 0; i < gq.size(); ++i) {
        const double e = std::fabs(gq[i] - cq[i]);
        if (!(e <= worst) && !std::isnan(worst)) worst = e;
    }
    std::string d = compare(gq, cq, Tol{1e-4f, 0.f});
    char buf[64];
    std::snprintf(buf, sizeof buf, "max |dQ| %.2e", worst);
    report(d.empty(), name, d.empty() ? std::string(buf) : d);
}

/* ---- visual prompts ------------------------------------------------------------------- */
/* Bit-exact against the CPU twin: every flag combination on small shapes (15-tap reflect-101
 * blur on images narrower / shorter than the kernel, single rows / columns), a subset on larger
 * ones; masks: a blob with a hole (contour fill), a blob touching the border, an empty mask with
 * sum(cam) > 1, and sum(cam) <= 1, with cam values exactly at the threshold (outside: the mask is
 * cam > thr) and one ulp above; out separate (pre-filled with junk) and in place. */
struct VpShape { int64_t H, W; };
const VpShape kVpShapes[] = {{1, 1}, {2, 3}, {1, 61}, {61, 1}, {7, 16}, {40, 53}, {97, 131}};

enum CamKind { CAM_RING, CAM_EDGE, CAM_EMPTY, CAM_SMALL };
std::vector<float> vp_cam(int64_t H, int64_t W, CamKind kind, Rng &rng) {
    std::vector<float> cam((size_t)(H * W));
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const double dy = (y - H * 0.45) / std::max<double>(1, H * 0.35), dx = (x - W * 0.55) / std::max<double>(1, W * 0.35);
            const double r2 = dy * dy + dx * dx;
            float v = 0.3f * rng.uniform();
            if (kind == CAM_RING && r2 <= 1.0 && r2 >= 0.15) v = 0.6f + 0.4f * rng.uniform();
            if (kind == CAM_EDGE && (x < W / 3 + 1 || y + 1 == H)) v = 0.7f;
            if (kind == CAM_EMPTY) v = 0.45f; /* sum > 1 when H*W >= 3, nothing above 0.5 */
            if (kind == CAM_SMALL) v = 0.9f / (float)(H * W); /* sum <= 1: no prompt */
            else if (rng.next() % 7 == 0) v = rng.next() % 2 ? 0.5f : std::nextafter(0.5f, 1.f); /* at the threshold: outside / inside */
            cam[(size_t)(y * W + x)] = v;
        }
    return cam;
}

void check_vp(const VpShape &sh, CamKind kind, int flags, bool in_place, uint64_t seed) {
    const int64_t H = sh.H, W = sh.W, HW = H * W;
    Rng rng(seed);
    std::vector<uint8_t> rgb((size_t)(HW * 3));
    for (auto &b : rgb) b = (uint8_t)(rng.next() & 255);
    std::vector<float> cam = vp_cam(H, W, kind, rng);
    const float thr = 0.5f;
    std::vector<uint8_t> want(rgb.size());
    char nm[160];
    static const char *kinds[] = {"ring", "edge", "empty", "sum<=1"};
    std::snprintf(nm, sizeof nm, "visual_prompt H=%lld,W=%lld cam=%s flags=%d%s", (long long)H, (long long)W, kinds[kind],
                  flags, in_place ? " in-place" : "");
    int st = ovseg_cpu_visual_prompt(rgb.data(), cam.data(), H, W, thr, flags, want.data());
    if (st != OVSEG_OK) {
        report(false, nm, std::string("CPU twin failed: ") + ovseg_status_string(st));
        return;
    }
    Dev drgb(rgb.data(), rgb.size()), dcam(cam.data(), cam.size() * 4), dout(rgb.size());
    API(ovseg_cuda_memset(dout.p, 0x5A, dout.bytes, nullptr));
    uint8_t *o = in_place ? drgb.as<uint8_t>() : dout.as<uint8_t>();
    st = ovseg_cuda_visual_prompt(drgb.as<uint8_t>(), dcam.as<float>(), H, W, thr, flags, o, nullptr);
    if (st == OVSEG_OK) st = ovseg_cuda_stream_synchronize(nullptr);
    if (st != OVSEG_OK) {
        report(false, nm, std::string(ovseg_status_string(st)) + ": " + ovseg_cuda_last_error());
        return;
    }
    std::vector<uint8_t> got = (in_place ? drgb : dout).get<uint8_t>(rgb.size());
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != want[i] && bad++ == 0) first = i;
    std::string d;
    if (bad) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%zu/%zu bytes differ, first [%zu] gpu %d cpu %d", bad, got.size(), first,
                      (int)got[first], (int)want[first]);
        d = buf;
    }
    /* up to 256 cases a shape: print the failures, and one summary line per shape */
    if (bad) report(false, nm, d);
    else ++g_checks;
}

void check_vp_all() {
    uint64_t seed = 900;
    for (const VpShape &sh : kVpShapes) {
        const int before = g_failures, checks = g_checks;
        const bool small = sh.H * sh.W <= 61 * 16;
        for (int kind = CAM_RING; kind <= CAM_SMALL; ++kind)
            for (int flags = 0; flags < 64; ++flags) {
                if (!small && flags != 0 && flags != 1 && flags != 3 && flags != 5 && flags != 7 && flags != 8 &&
                    flags != 16 && flags != 32 && flags != 63 && flags != 33)
                    continue;
                check_vp(sh, (CamKind)kind, flags, false, seed++);
                if (flags == 63 || flags == 1 || flags == 33) check_vp(sh, (CamKind)kind, flags, true, seed++);
            }
        if (g_failures == before) {
            char nm[96];
            std::snprintf(nm, sizeof nm, "visual_prompt H=%lld,W=%lld: %d cases bit-identical to the CPU twin",
                          (long long)sh.H, (long long)sh.W, g_checks - checks);
            --g_checks; /* the summary line is not a case of its own */
            report(true, nm, "");
        }
    }
}

/* ---- PIL bicubic resize ----------------------------------------------------------------- */
/* Bit-exact against the CPU twin (itself bit-exact against Pillow, PilResizeTest): shrinking by
 * 1.x, 2.3x and ~7x (the antialiased kernel spans 9..29 taps), enlarging, one axis up and the
 * other down, one axis unchanged (that pass skipped), 1-pixel sides, C = 1, 3 and 4, random and
 * saturated images (the negative lobes push sums below 0 and above 255: clip8 on both sides). */
struct PilCase { int64_t H, W, C, oH, oW; };
const PilCase kPilCases[] = {{513, 513, 3, 224, 224}, {375, 500, 3, 224, 298}, {101, 97, 3, 7, 3}, {13, 17, 3, 40, 29},
                             {60, 20, 3, 21, 61}, {64, 64, 4, 64, 9}, {33, 40, 1, 5, 40}, {1, 1, 3, 3, 2},
                             {5, 1, 3, 1, 5}, {224, 300, 3, 224, 224}};

void check_pil(const PilCase &c, bool saturated, uint64_t seed) {
    Rng rng(seed);
    const size_t n = (size_t)(c.H * c.W * c.C), on = (size_t)(c.oH * c.oW * c.C);
    std::vector<uint8_t> src(n);
    for (size_t i = 0; i < n; ++i) src[i] = saturated ? ((i / (size_t)c.C + (size_t)(rng.next() % 3 == 0)) % 2 ? 255 : 0)
                                                      : (uint8_t)(rng.next() & 255);
    char nm[160];
    std::snprintf(nm, sizeof nm, "pil_bicubic %lldx%lldx%lld -> %lldx%lld%s", (long long)c.H, (long long)c.W, (long long)c.C,
                  (long long)c.oH, (long long)c.oW, saturated ? " saturated" : "");
    std::vector<uint8_t> want(on);
    int st = ovseg_cpu_pil_bicubic(src.data(), c.H, c.W, c.C, c.oH, c.oW, want.data());
    if (st != OVSEG_OK) {
        report(false, nm, std::string("CPU twin failed: ") + ovseg_status_string(st));
        return;
    }
    Dev dsrc(src.data(), n), dout(on);
    API(ovseg_cuda_memset(dout.p, 0x5A, dout.bytes, nullptr));
    st = ovseg_cuda_pil_bicubic(dsrc.as<uint8_t>(), c.H, c.W, c.C, c.oH, c.oW, dout.as<uint8_t>(), nullptr);
    if (st == OVSEG_OK) st = ovseg_cuda_stream_synchronize(nullptr);
    if (st != OVSEG_OK) {
        report(false, nm, std::string(ovseg_status_string(st)) + ": " + ovseg_cuda_last_error());
        return;
    }
    std::vector<uint8_t> got = dout.get<uint8_t>(on);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < on; ++i)
        if (got[i] != want[i] && bad++ == 0) first = i;
    char buf[160] = "";
    if (bad)
        std::snprintf(buf, sizeof buf, "%zu/%zu bytes differ, first [%zu] gpu %d cpu %d", bad, on, first, (int)got[first],
                      (int)want[first]);
    report(bad == 0, nm, buf);
}

void check_pil_all() {
    uint64_t seed = 4200;
    for (const PilCase &c : kPilCases) {
        check_pil(c, false, seed++);
        check_pil(c, true, seed++);
    }
}

/* ---- argument validation ------------------------------------------------------------- */
void check_validation() {
    Dev buf(4096);
    float *f = buf.as<float>();
    auto expect = [](const char *what, int got, int want) {
        report(got == want, std::string("validation ") + what,
               got == want ? "" : std::string("got ") + ovseg_status_string(got) + ", want " + ovseg_status_string(want));
    };
    expect("dense: bad dtype", ovseg_cuda_dense_projection(7, f, 1, 1, 1, f, nullptr, 1, f, 1, 1.f, f, nullptr, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("dense: negative P", ovseg_cuda_dense_projection(0, f, 1, -1, 1, f, nullptr, 1, f, 1, 1.f, f, nullptr, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("dense: F NULL", ovseg_cuda_dense_projection(0, nullptr, 1, 1, 1, f, nullptr, 1, f, 1, 1.f, f, nullptr, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("dense: no output", ovseg_cuda_dense_projection(0, f, 1, 1, 1, f, nullptr, 1, f, 1, 1.f, nullptr, nullptr, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("mask: bad mode", ovseg_cuda_mask_pool(0, f, f, 1, 1, 1, 1, 2, 0, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("mask: negative HW", ovseg_cuda_mask_pool(0, f, f, 1, 1, 1, -3, 0, 0, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("mask: out NULL", ovseg_cuda_mask_pool(0, f, f, 1, 1, 1, 1, 0, 0, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("mask: bad dtype", ovseg_cuda_mask_pool(-1, f, f, 1, 1, 1, 1, 0, 0, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("slot: S = 65", ovseg_cuda_slot_attention(0, f, f, f, 1, 65, 1, 1, 1, 0.f, 1e-8f, 0, f, nullptr, nullptr), OVSEG_ERR_UNSUPPORTED);
    expect("slot: negative d", ovseg_cuda_slot_attention(0, f, f, f, 1, 2, 1, -1, 1, 0.f, 1e-8f, 0, f, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("slot: k NULL", ovseg_cuda_slot_attention(0, f, nullptr, f, 1, 2, 1, 1, 1, 0.f, 1e-8f, 0, f, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("slot: eps < 0", ovseg_cuda_slot_attention(0, f, f, f, 1, 2, 1, 1, 1, 0.f, -1.f, 0, f, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    expect("slot: bad dtype", ovseg_cuda_slot_attention(3, f, f, f, 1, 2, 1, 1, 1, 0.f, 1e-8f, 0, f, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
    {
        const uint8_t *u8 = buf.as<uint8_t>();
        uint8_t *o8 = buf.as<uint8_t>() + 2048;
        expect("crf: negative L", ovseg_cuda_dense_crf(f, u8, -1, 2, 2, 1.f, 3.f, 67.f, 3.f, 4.f, 5, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("crf: negative iterations", ovseg_cuda_dense_crf(f, u8, 2, 2, 2, 1.f, 3.f, 67.f, 3.f, 4.f, -1, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("crf: unary NULL", ovseg_cuda_dense_crf(nullptr, u8, 2, 2, 2, 1.f, 3.f, 67.f, 3.f, 4.f, 5, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("crf: q_out NULL", ovseg_cuda_dense_crf(f, u8, 2, 2, 2, 1.f, 3.f, 67.f, 3.f, 4.f, 5, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("crf: gauss_sxy 0", ovseg_cuda_dense_crf(f, u8, 2, 2, 2, 0.f, 3.f, 67.f, 3.f, 4.f, 5, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("crf: bilat_srgb NaN", ovseg_cuda_dense_crf(f, u8, 2, 2, 2, 1.f, 3.f, 67.f, NAN, 4.f, 5, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("crf: compat inf", ovseg_cuda_dense_crf(f, u8, 2, 2, 2, 1.f, INFINITY, 67.f, 3.f, 4.f, 5, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("crf: features overflow the lattice keys", ovseg_cuda_dense_crf(f, u8, 2, 2, 2, 1e-9f, 3.f, 0.f, 0.f, 0.f, 5, f, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("crf: L = 0 with NULLs", ovseg_cuda_dense_crf(nullptr, nullptr, 0, 2, 2, 1.f, 3.f, 67.f, 3.f, 4.f, 5, nullptr, nullptr), OVSEG_OK);
        expect("vp: unknown flag", ovseg_cuda_visual_prompt(u8, f, 2, 2, 0.5f, 64, o8, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("vp: negative W", ovseg_cuda_visual_prompt(u8, f, 2, -2, 0.5f, 1, o8, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("vp: cam NULL", ovseg_cuda_visual_prompt(u8, nullptr, 2, 2, 0.5f, 1, o8, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("vp: H = 0 with NULLs", ovseg_cuda_visual_prompt(nullptr, nullptr, 0, 2, 0.5f, 1, nullptr, nullptr), OVSEG_OK);
        expect("pil: C = 5", ovseg_cuda_pil_bicubic(u8, 2, 2, 5, 1, 1, o8, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("pil: negative outW", ovseg_cuda_pil_bicubic(u8, 2, 2, 3, 1, -1, o8, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("pil: empty input, non-empty output", ovseg_cuda_pil_bicubic(u8, 0, 2, 3, 1, 1, o8, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("pil: dst NULL", ovseg_cuda_pil_bicubic(u8, 2, 2, 3, 1, 1, nullptr, nullptr), OVSEG_ERR_INVALID_ARGUMENT);
        expect("pil: empty output with NULLs", ovseg_cuda_pil_bicubic(nullptr, 2, 2, 3, 0, 1, nullptr, nullptr), OVSEG_OK);
    }
    expect("malloc: NULL out", ovseg_cuda_malloc(nullptr, 16), OVSEG_ERR_INVALID_ARGUMENT);
    {
        void *p = (void *)1;
        int st = ovseg_cuda_malloc(&p, (size_t)1 << 60); /* 1 EiB */
        expect("malloc: 1 EiB is out of memory", st, OVSEG_ERR_OUT_OF_MEMORY);
        report(p == nullptr, "malloc: failed allocation leaves NULL", "");
    }
    API(ovseg_cuda_stream_synchronize(nullptr)); /* no sticky error left behind */
}

/* ---- benchmarks ---------------------------------------------------------------------- */
struct Peak {
    double bw = 0, fp32 = 0; /* bytes/s, flop/s */
    int l2 = 0;
    std::string name;
};

Peak device_peak() {
    Peak pk;
    int dev = 0;
    RT(cudaGetDevice(&dev));
    cudaDeviceProp prop;
    RT(cudaGetDeviceProperties(&prop, dev));
    pk.name = prop.name;
    int memclk = 0, bus = 0, clk = 0, sms = 0, l2 = 0;
    cudaDeviceGetAttribute(&memclk, cudaDevAttrMemoryClockRate, dev); /* kHz */
    cudaDeviceGetAttribute(&bus, cudaDevAttrGlobalMemoryBusWidth, dev); /* bits */
    cudaDeviceGetAttribute(&clk, cudaDevAttrClockRate, dev);            /* kHz */
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev);
    cudaGetLastError();
    pk.l2 = l2 > 0 ? l2 : 50 << 20;
    if (memclk > 0 && bus > 0) pk.bw = 2.0 * memclk * 1e3 * (bus / 8.0);
    const int lanes = (prop.major == 8 && prop.minor == 0) ? 64 : 128; /* A100: 64 FP32 lanes/SM */
    if (clk > 0 && sms > 0) pk.fp32 = (double)sms * lanes * 2.0 * clk * 1e3;
    const bool h100 = pk.name.find("H100") != std::string::npos, h200 = pk.name.find("H200") != std::string::npos;
    if (pk.bw <= 0) pk.bw = h200 ? 4.8e12 : h100 ? (pk.name.find("PCIe") != std::string::npos ? 2.0e12 : 3.35e12) : 0;
    if (pk.fp32 <= 0) pk.fp32 = (h100 || h200) ? 67e12 : 0;
    return pk;
}

struct Bench {
    int reps = 20;
    Peak pk;
    void *flush = nullptr;
    size_t flush_bytes = 0;
    cudaEvent_t e0{}, e1{};
    std::vector<std::string> json;

    void init() {
        pk = device_peak();
        flush_bytes = (size_t)pk.l2 * 2;
        API(ovseg_cuda_malloc(&flush, flush_bytes));
        RT(cudaEventCreate(&e0));
        RT(cudaEventCreate(&e1));
    }
    ~Bench() {
        if (flush) ovseg_cuda_free(flush);
    }
    /* median microseconds of launch() on the legacy default stream, L2 flushed before each */
    double time_gpu(const std::function<int()> &launch) {
        for (int i = 0; i < 3; ++i) API(launch());
        API(ovseg_cuda_stream_synchronize(nullptr));
        std::vector<double> us;
        for (int r = 0; r < reps; ++r) {
            API(ovseg_cuda_memset(flush, r & 0xFF, flush_bytes, nullptr));
            RT(cudaEventRecord(e0, nullptr));
            API(launch());
            RT(cudaEventRecord(e1, nullptr));
            RT(cudaEventSynchronize(e1));
            float ms = 0;
            RT(cudaEventElapsedTime(&ms, e0, e1));
            us.push_back(ms * 1e3);
        }
        std::sort(us.begin(), us.end());
        return us[us.size() / 2];
    }
    static double time_cpu(const std::function<int()> &run) {
        if (run() != OVSEG_OK) return -1;
        std::vector<double> ms;
        for (int i = 0; i < 3; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            run();
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        return ms[1];
    }
    void header() {
        std::printf("\n%s: peak DRAM %.0f GB/s, peak fp32 %.1f TFLOP/s (non-tensor), L2 %d MiB; median of %d, L2 flushed\n",
                    pk.name.c_str(), pk.bw / 1e9, pk.fp32 / 1e12, pk.l2 >> 20, reps);
        std::printf("%-15s %-5s %-15s %-34s %10s %9s %9s %6s %6s %9s\n", "kernel", "dtype", "mode", "shape",
                    "gpu_us", "GB/s", "GFLOP/s", "%bw", "%fp32", "cpu_ms");
    }
    void row(const char *kernel, const char *dt, const std::string &mode, const std::string &shape, double us,
             double bytes, double flops, double cpu_ms) {
        const double gbs = bytes / (us * 1e-6) / 1e9, gfs = flops / (us * 1e-6) / 1e9;
        const double fbw = pk.bw > 0 ? 100.0 * gbs * 1e9 / pk.bw : 0, ffp = pk.fp32 > 0 ? 100.0 * gfs * 1e9 / pk.fp32 : 0;
        std::printf("%-15s %-5s %-15s %-34s %10.1f %9.1f %9.1f %5.1f%% %5.1f%% %9.3f\n", kernel, dt,
                    mode.c_str(), shape.c_str(), us, gbs, gfs, fbw, ffp, cpu_ms);
        char buf[640];
        std::snprintf(buf, sizeof buf,
                      "{\"kernel\":\"%s\",\"dtype\":\"%s\",\"mode\":\"%s\",\"shape\":\"%s\",\"gpu_us\":%.3f,"
                      "\"gb_per_s\":%.3f,\"gflop_per_s\":%.3f,\"frac_peak_bw\":%.5f,\"frac_peak_fp32\":%.5f,"
                      "\"bytes\":%.0f,\"flops\":%.0f,\"cpu_ms\":%.4f}",
                      kernel, dt, mode.c_str(), shape.c_str(), us, gbs, gfs, fbw / 100, ffp / 100,
                      bytes, flops, cpu_ms);
        json.push_back(buf);
    }
};

void bench_all(Bench &bn) {
    bn.header();
    std::map<std::string, double> cpu_cache; /* the CPU twin is fp32 only: time it once per shape */
    auto cpu_once = [&](const std::string &key, const std::function<int()> &run) {
        auto it = cpu_cache.find(key);
        if (it != cpu_cache.end()) return it->second;
        return cpu_cache[key] = Bench::time_cpu(run);
    };
    Rng rng(1234);

    /* dense projection: MaskCLIP ViT-B/16 at 512x512 (P = 1024) and 448x448 (P = 784) */
    struct DB { int64_t P, K; int dt; int mode; };
    const DB dbs[] = {{1024, 171, OVSEG_F32, 1}, {1024, 171, OVSEG_F16, 1}, {1024, 171, OVSEG_BF16, 1},
                      {1024, 171, OVSEG_F32, 0}, {784, 21, OVSEG_F32, 1}, {784, 21, OVSEG_F16, 1}};
    for (const DB &c : dbs) {
        const int64_t B = 1, P = c.P, D = 768, E = 512, K = c.K;
        std::vector<float> F = rng.normals(B * P * D), W = rng.normals(E * D, 0.036f), bias = rng.normals(E, 0.1f),
                           T = rng.normals(K * E, 0.044f);
        std::vector<uint8_t> Fr = encode(F, c.dt);
        Dev dF = upload(Fr), dW = upload(W), db = upload(bias), dT = upload(T);
        Dev dl(B * K * P * 4), dlab(B * P * 4), dsc(B * P * 4);
        float *lg = c.mode == 0 ? dl.as<float>() : nullptr;
        int32_t *lb = c.mode == 1 ? dlab.as<int32_t>() : nullptr;
        float *sc = c.mode == 1 ? dsc.as<float>() : nullptr;
        const double us = bn.time_gpu([&] {
            return ovseg_cuda_dense_projection(c.dt, dF.p, B, P, D, dW.as<float>(), db.as<float>(), E, dT.as<float>(),
                                               K, 100.f, lg, lb, sc, nullptr);
        });
        std::vector<float> cl(c.mode == 0 ? B * K * P : 0), cs(B * P);
        std::vector<int32_t> cb(B * P);
        const std::string shape = shape_str({{"B", B}, {"P", P}, {"D", D}, {"E", E}, {"K", K}});
        const double cpu = cpu_once("dense" + shape + std::to_string(c.mode), [&] {
            return ovseg_cpu_dense_projection(F.data(), B, P, D, W.data(), bias.data(), E, T.data(), K, 100.f,
                                              c.mode == 0 ? cl.data() : nullptr, c.mode == 1 ? cb.data() : nullptr,
                                              c.mode == 1 ? cs.data() : nullptr);
        });
        const double bytes = (double)B * P * D * dtype_size(c.dt) + 4.0 * (E * D + E + K * E) +
                             (c.mode == 0 ? 4.0 * B * K * P : 8.0 * B * P);
        const double flops = 2.0 * B * P * E * D + 2.0 * B * P * K * E;
        bn.row("dense_proj", dtype_name(c.dt), c.mode == 0 ? "logits" : "labels+scores", shape, us, bytes, flops, cpu);
    }

    /* mask pooling: Q = 100 queries, C = 768 channels, 64x64 feature map */
    for (int dt : {OVSEG_F32, OVSEG_F16})
        for (int mode : {OVSEG_MASK_HARD, OVSEG_MASK_SOFT}) {
            const int64_t B = 1, C = 768, Q = 100, HW = 64 * 64;
            std::vector<float> F = rng.normals(B * C * HW), M = rng.normals(B * Q * HW, 3.f);
            for (int64_t i = 0; i < B * Q * HW; ++i) M[i] -= 2.f; /* masks cover ~25% of the image */
            std::vector<uint8_t> Fr = encode(F, dt), Mr = encode(M, dt);
            Dev dF = upload(Fr), dM = upload(Mr), dout(B * Q * C * 4);
            const double us = bn.time_gpu([&] {
                return ovseg_cuda_mask_pool(dt, dF.p, dM.p, B, C, Q, HW, mode, 1, dout.as<float>(), nullptr);
            });
            std::vector<float> co(B * Q * C);
            const std::string shape = shape_str({{"B", B}, {"C", C}, {"Q", Q}, {"HW", HW}});
            const double cpu = cpu_once("mask" + shape + std::to_string(mode), [&] {
                return ovseg_cpu_mask_pool(F.data(), M.data(), B, C, Q, HW, mode, 1, co.data());
            });
            const double bytes = (double)B * (C + Q) * HW * dtype_size(dt) + 4.0 * B * Q * C;
            const double flops = 2.0 * B * Q * C * HW;
            bn.row("mask_pool", dtype_name(dt), mode == OVSEG_MASK_HARD ? "hard,norm" : "soft,norm", shape, us, bytes, flops, cpu);
        }

    /* slot attention: 28x28 tokens, 8 or 64 slots, d = dv = 256 */
    struct SB_ { int64_t S; int hard; int dt; };
    const SB_ sbs[] = {{8, 0, OVSEG_F32}, {8, 1, OVSEG_F32}, {64, 0, OVSEG_F32}, {64, 1, OVSEG_F32},
                       {64, 0, OVSEG_F16}, {64, 0, OVSEG_BF16}};
    for (const SB_ &c : sbs) {
        const int64_t B = 1, S = c.S, N = 784, d = 256, dv = 256;
        std::vector<float> q = rng.normals(B * S * d), k = rng.normals(B * N * d), v = rng.normals(B * N * dv);
        std::vector<uint8_t> qr = encode(q, c.dt), kr = encode(k, c.dt), vr = encode(v, c.dt);
        Dev dq = upload(qr), dk = upload(kr), dvv = upload(vr), du(B * S * dv * 4), da(B * N * S * 4);
        const double us = bn.time_gpu([&] {
            return ovseg_cuda_slot_attention(c.dt, dq.p, dk.p, dvv.p, B, S, N, d, dv, 0.f, 1e-8f, c.hard,
                                             du.as<float>(), da.as<float>(), nullptr);
        });
        std::vector<float> cu(B * S * dv), ca(B * N * S);
        const std::string shape = shape_str({{"B", B}, {"S", S}, {"N", N}, {"d", d}, {"dv", dv}});
        const double cpu = cpu_once("slot" + shape + std::to_string(c.hard), [&] {
            return ovseg_cpu_slot_attention(q.data(), k.data(), v.data(), B, S, N, d, dv, 0.f, 1e-8f, c.hard,
                                            cu.data(), ca.data());
        });
        const double bytes = (double)B * (S * d + N * d + N * dv) * dtype_size(c.dt) + 4.0 * B * (S * dv + N * S);
        const double flops = 2.0 * B * N * S * (d + dv);
        bn.row("slot_attention", dtype_name(c.dt), c.hard ? "hard,assign" : "soft,assign", shape, us, bytes, flops, cpu);
    }

    /* dense CRF, CaR's settings (10 iterations, Gaussian + bilateral): a VOC-sized image with 21
     * labels and a 512x512 one with 8. The GPU time includes the host-side lattice build and the
     * rgb read-back (the whole call, as a caller sees it). GB/s counts unary + rgb + q_out;
     * GFLOP/s counts 4*N*(d+1)*L per term and iteration (splat and slice multiply-adds). */
    struct CB { int64_t L, H, W; };
    for (const CB &c : {CB{21, 375, 500}, CB{8, 512, 512}}) {
        const int64_t L = c.L, H = c.H, W = c.W, N = H * W;
        std::vector<float> U;
        std::vector<uint8_t> rgb;
        crf_inputs(L, H, W, 77, U, rgb);
        Dev dU = upload(U), drgb = upload(rgb), dq(N * L * 4);
        const CrfParams &pa = kCrfParams[0];
        const double us = bn.time_gpu([&] {
            return ovseg_cuda_dense_crf(dU.as<float>(), drgb.as<uint8_t>(), L, H, W, pa.gs, pa.gc, pa.bs, pa.br, pa.bc,
                                        pa.it, dq.as<float>(), nullptr);
        });
        std::vector<float> cq(N * L);
        const std::string shape = shape_str({{"L", L}, {"H", H}, {"W", W}});
        const double cpu = Bench::time_cpu([&] {
            return ovseg_cpu_dense_crf(U.data(), rgb.data(), L, H, W, pa.gs, pa.gc, pa.bs, pa.br, pa.bc, pa.it,
                                       cq.data());
        });
        const double bytes = 8.0 * N * L + 3.0 * N;
        const double flops = 4.0 * N * L * (3 + 6) * pa.it;
        bn.row("dense_crf", "fp32", "car,10 iters", shape, us, bytes, flops, cpu);
    }

    /* PIL bicubic: a VOC-sized photo to CLIP's 224 short side, a batch's worth of prompted images */
    for (int64_t side : {513, 2048}) {
        const int64_t H = side, W = side * 4 / 3, oH = 224, oW = 224 * 4 / 3;
        Rng r3(11);
        std::vector<uint8_t> src((size_t)(H * W * 3));
        for (auto &b : src) b = (uint8_t)(r3.next() & 255);
        Dev dsrc = upload(src), dout((size_t)(oH * oW * 3));
        const double us = bn.time_gpu([&] {
            return ovseg_cuda_pil_bicubic(dsrc.as<uint8_t>(), H, W, 3, oH, oW, dout.as<uint8_t>(), nullptr);
        });
        std::vector<uint8_t> co((size_t)(oH * oW * 3));
        const double cpu = Bench::time_cpu([&] { return ovseg_cpu_pil_bicubic(src.data(), H, W, 3, oH, oW, co.data()); });
        const double taps_h = 2.0 * std::ceil(2.0 * W / oW) + 1, taps_v = 2.0 * std::ceil(2.0 * H / oH) + 1;
        const double bytes = 3.0 * H * W + 2.0 * 3 * oW * H + 3.0 * oH * oW;
        const double flops = 2.0 * 3 * (taps_h * oW * H + taps_v * oH * oW);
        bn.row("pil_bicubic", "u8", "shrink", shape_str({{"H", H}, {"W", W}, {"oH", oH}, {"oW", oW}}), us, bytes, flops, cpu);
    }

    /* visual prompts at 512x512 with a centred blob */
    for (int flags : {(int)OVSEG_VP_BLUR, OVSEG_VP_BLUR | OVSEG_VP_GRAY | OVSEG_VP_CONTOUR, OVSEG_VP_CIRCLE | OVSEG_VP_RECTANGLE}) {
        const int64_t H = 512, W = 512;
        Rng r2(5);
        std::vector<uint8_t> rgb(H * W * 3);
        for (auto &b : rgb) b = (uint8_t)(r2.next() & 255);
        std::vector<float> cam = vp_cam(H, W, CAM_RING, r2);
        Dev drgb = upload(rgb), dcam = upload(cam), dout(rgb.size());
        const double us = bn.time_gpu([&] {
            return ovseg_cuda_visual_prompt(drgb.as<uint8_t>(), dcam.as<float>(), H, W, 0.5f, flags, dout.as<uint8_t>(),
                                            nullptr);
        });
        std::vector<uint8_t> co(rgb.size());
        const std::string shape = shape_str({{"H", H}, {"W", W}});
        const double cpu = Bench::time_cpu([&] {
            return ovseg_cpu_visual_prompt(rgb.data(), cam.data(), H, W, 0.5f, flags, co.data());
        });
        const double bytes = 10.0 * H * W; /* rgb + out + cam */
        const double flops = (flags & OVSEG_VP_BLUR) ? 2.0 * 2 * 15 * 3 * H * W : 0.0;
        bn.row("visual_prompt", "u8",
               flags == OVSEG_VP_BLUR ? "blur" : (flags & OVSEG_VP_BLUR) ? "blur+gray+cont" : "circle+rect", shape, us,
               bytes, flops, cpu);
    }
}

} // namespace

/* PAMR (kernels/pamr.cu) against the CPU twin: odd sizes, NACLIP's dilations (8, 16) where most
 * neighbours clamp to the border, and dilation 1; bound 1e-5 relative to the masks' magnitude
 * (both accumulate the statistics in double; the products differ by float rounding). */
void check_pamr(int64_t C, int64_t H, int64_t W, int64_t K, std::vector<int32_t> dil, int iters, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> img((size_t)(C * H * W)), mask((size_t)(K * H * W));
    for (int64_t c = 0; c < C; ++c)
        for (int64_t p = 0; p < H * W; ++p) img[(size_t)(c * H * W + p)] = rng.uniform() + ((p % W) > W / 2 ? 2.f : 0.f);
    for (auto &v : mask) v = rng.uniform() - 0.5f;
    char nm[128];
    std::snprintf(nm, sizeof nm, "pamr C=%lld,H=%lld,W=%lld,K=%lld,dil=%d..%d,iters=%d", (long long)C, (long long)H,
                  (long long)W, (long long)K, dil.front(), dil.back(), iters);
    std::vector<float> want = mask;
    int st = ovseg_cpu_pamr(img.data(), C, H, W, want.data(), K, dil.data(), (int64_t)dil.size(), iters);
    if (st != OVSEG_OK) {
        report(false, nm, std::string("CPU twin failed: ") + ovseg_status_string(st));
        return;
    }
    Dev dimg(img.data(), img.size() * 4), dmask(mask.data(), mask.size() * 4);
    st = ovseg_cuda_pamr(dimg.as<float>(), C, H, W, dmask.as<float>(), K, dil.data(), (int64_t)dil.size(), iters, nullptr);
    if (st == OVSEG_OK) st = ovseg_cuda_stream_synchronize(nullptr);
    if (st != OVSEG_OK) {
        report(false, nm, std::string(ovseg_status_string(st)) + ": " + ovseg_cuda_last_error());
        return;
    }
    std::vector<float> got = dmask.get<float>(mask.size());
    double err = 0, ref = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        err = std::max(err, (double)std::fabs(got[i] - want[i]));
        ref = std::max(ref, (double)std::fabs(want[i]));
    }
    char d[96];
    std::snprintf(d, sizeof d, "(max |gpu-cpu| %.3g, max |cpu| %.3g)", err, ref);
    report(err <= 1e-5 * std::max(ref, 1e-6), nm, d);
}

void check_pamr_all() {
    check_pamr(3, 37, 23, 5, {1, 3}, 3, 7001);
    check_pamr(3, 97, 131, 21, {8, 16}, 10, 7002);
    check_pamr(1, 1, 61, 2, {2}, 4, 7003);
    check_pamr(3, 336, 448, 7, {8, 16}, 10, 7004);
}

int main(int argc, char **argv) {
    const char *json_path = nullptr;
    bool bench = true;
    int reps = 20;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!std::strcmp(argv[i], "--no-bench")) bench = false;
        else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else {
            std::printf("usage: %s [--json FILE] [--no-bench] [--reps N]\n", argv[0]);
            return 2;
        }
    }
    if (check_compare_rejects_nan()) return 1;
    int rt = 0, drv = 0, count = 0;
    ovseg_cuda_runtime_version(&rt);
    ovseg_cuda_driver_version(&drv);
    std::printf("libovseg_cuda: compiled %d, cudart %d, driver %d, cpu isa %s\n", ovseg_cuda_compiled(), rt, drv,
                ovseg_cpu_isa());
    const int st = ovseg_cuda_device_count(&count);
    if (st != OVSEG_OK) {
        std::printf("no GPU, skipped: %s\n", ovseg_cuda_last_error());
        if (json_path) {
            if (FILE *f = std::fopen(json_path, "w")) {
                std::fprintf(f, "{\"skipped\":true,\"reason\":\"no GPU\",\"results\":[]}\n");
                std::fclose(f);
            }
        }
        return 0;
    }
    char name[256];
    int maj = 0, min = 0;
    int64_t mem = 0;
    API(ovseg_cuda_set_device(0));
    API(ovseg_cuda_device_info(0, name, sizeof name, &maj, &min, &mem));
    std::printf("device 0 of %d: %s, sm_%d%d, %.1f GiB\n", count, name, maj, min, mem / 1073741824.0);

    check_validation();
    uint64_t seed = 1;
    for (int dt : {OVSEG_F32, OVSEG_F16, OVSEG_BF16}) {
        for (const DenseShape &s : kDenseShapes) {
#ifdef OVSEG_KERNEL_EMULATION
            /* The host emulation runs the model-sized shapes in fp32 only: fp16/bf16 change the
             * loads, which the small shapes cover, and these two shapes cost most of its time. */
            if (dt != OVSEG_F32 && s.P * s.D * s.E > 10000000) { ++seed; continue; }
#endif
            check_dense(s, dt, true, seed++);
        }
        check_dense(kDenseShapes[1], dt, false, seed++);
        for (const MaskShape &s : kMaskShapes)
            for (int mode : {OVSEG_MASK_HARD, OVSEG_MASK_SOFT})
                for (int norm : {0, 1}) check_mask(s, dt, mode, norm, seed++);
        for (const SlotShape &s : kSlotShapes)
            for (int hard : {0, 1}) {
#ifdef OVSEG_KERNEL_EMULATION
                if (dt != OVSEG_F32 && s.N * s.d * s.S > 10000000) { ++seed; continue; }
#endif
                check_slot(s, dt, hard, 0.f, true, seed++);
            }
        check_slot(kSlotShapes[1], dt, 0, 0.7f, true, seed++);
        check_slot(kSlotShapes[5], dt, 1, 0.7f, false, seed++);
        check_slot(kSlotShapes[5], dt, 0, 0.f, false, seed++);
    }
    for (const CrfShape &sh : kCrfShapes)
        for (const CrfParams &pa : kCrfParams) check_crf(sh, pa, seed++);
    check_crf(kCrfShapes[5], kCrfParams[0], seed++, true);
    check_vp_all();
    check_pil_all();
    check_pamr_all();
    std::printf("\n%d checks, %d failed\n", g_checks, g_failures);

    Bench bn;
    bn.reps = reps;
    if (bench) {
        bn.init();
        bench_all(bn);
    }
    if (json_path) {
        FILE *f = std::fopen(json_path, "w");
        if (!f) {
            std::printf("cannot write %s\n", json_path);
            return 2;
        }
        std::fprintf(f, "{\"device\":\"%s\",\"peak_bw_bytes_per_s\":%.0f,\"peak_fp32_flop_per_s\":%.0f,"
                        "\"checks\":%d,\"failures\":%d,\"results\":[\n",
                     name, bn.pk.bw, bn.pk.fp32, g_checks, g_failures);
        for (size_t i = 0; i < bn.json.size(); ++i)
            std::fprintf(f, "  %s%s\n", bn.json[i].c_str(), i + 1 < bn.json.size() ? "," : "");
        std::fprintf(f, "]}\n");
        std::fclose(f);
    }
    return g_failures ? 1 : 0;
}
