// Kernels called from several threads at once: each call's output must be bit-identical to the
// same call made alone (the split into tasks depends only on the configured thread count, not on
// how many pool workers a call happens to get), with calls of different kernels interleaved.
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "ovseg.h"

namespace {

struct Case {
    int kind;  // 0 dense projection, 1 soft mask pooling, 2 slot attention
    std::vector<float> a, b, c;
    std::vector<float> out, out2;
    std::vector<int32_t> labels;

    void run() {
        int rc = OVSEG_OK;
        if (kind == 0) {
            // F[1,P=300,D=96], W[E=64,D], T[K=12,E]
            rc = ovseg_cpu_dense_projection(a.data(), 1, 300, 96, b.data(), nullptr, 64, c.data(), 12, 50.0f,
                                            out.data(), labels.data(), out2.data());
        } else if (kind == 1) {
            // F[1,C=80,HW=400], M[1,Q=9,HW]
            rc = ovseg_cpu_mask_pool(a.data(), b.data(), 1, 80, 9, 400, OVSEG_MASK_SOFT, 1, out.data());
        } else {
            // q[1,S=7,d=32], k[1,N=500,d], v[1,N,dv=24]
            rc = ovseg_cpu_slot_attention(a.data(), b.data(), c.data(), 1, 7, 500, 32, 24, 0.0f, 1e-6f, 0,
                                          out.data(), out2.data());
        }
        if (rc != OVSEG_OK) std::printf("FAIL kernel %d returned %d\n", kind, rc);
    }
};

std::vector<float> randn(std::mt19937 &rng, size_t n) {
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto &x : v) x = d(rng);
    return v;
}

Case make(int kind, unsigned seed) {
    std::mt19937 rng(seed);
    Case c{kind, {}, {}, {}, {}, {}, {}};
    if (kind == 0) {
        c.a = randn(rng, 300 * 96), c.b = randn(rng, 64 * 96), c.c = randn(rng, 12 * 64);
        c.out.resize(12 * 300), c.out2.resize(300), c.labels.resize(300);
    } else if (kind == 1) {
        c.a = randn(rng, 80 * 400), c.b = randn(rng, 9 * 400);
        c.out.resize(9 * 80);
    } else {
        c.a = randn(rng, 7 * 32), c.b = randn(rng, 500 * 32), c.c = randn(rng, 500 * 24);
        c.out.resize(7 * 24), c.out2.resize(500 * 7);
    }
    return c;
}

bool same(const Case &x, const Case &y) {
    return std::memcmp(x.out.data(), y.out.data(), x.out.size() * 4) == 0 &&
           std::memcmp(x.out2.data(), y.out2.data(), x.out2.size() * 4) == 0 &&
           x.labels == y.labels;
}

}  // namespace

int main() {
    if (!ovseg_cpu_isa()) {
        std::printf("SKIP: %s\n", ovseg_cpu_isa_error());
        return 77;
    }
    // More threads than this machine may have cores: calls then compete for workers.
    ovseg_cpu_set_threads(4);
    const int kCallers = 4, kRounds = 25;
    std::vector<Case> alone;
    for (int k = 0; k < 3; ++k) {
        alone.push_back(make(k, 100 + k));
        alone.back().run();
    }
    int failures = 0;
    std::vector<int> bad(kCallers, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kCallers; ++t)
        threads.emplace_back([t, &alone, &bad] {
            for (int r = 0; r < kRounds; ++r) {
                const int k = (t + r) % 3;
                Case c = make(k, 100 + k);
                c.run();
                if (!same(c, alone[static_cast<size_t>(k)])) ++bad[static_cast<size_t>(t)];
            }
        });
    for (auto &th : threads) th.join();
    for (int b : bad) failures += b;
    std::printf("%s %d threads x %d calls (dense projection, mask pooling, slot attention) bit-identical to "
                "the same calls alone (%d differ)\n",
                failures ? "FAIL" : "PASS", kCallers, kRounds, failures);
    return failures ? 1 : 0;
}
