// The comparator the native checks rely on (compare.h) must fail on any NaN or infinite error,
// wherever it occurs; a comparator that lets a NaN through makes every check built on it unable
// to fail on the bug it exists to catch.
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "compare.h"

namespace {
int failures = 0;

void expect(bool ok, const char *what) {
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (!ok) ++failures;
}

bool within(const std::vector<double> &errs, double tol) {
    ovseg_test::WorstError w;
    for (double e : errs) w.add(e);
    return w.within(tol);
}
}  // namespace

int main() {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    expect(within({0, 1e-6, 5e-5}, 1e-4), "finite errors within tolerance pass");
    expect(!within({0, 2e-4, 1e-6}, 1e-4), "one error over tolerance fails");
    expect(!within({1e-6, nan, 1e-6, 2e-6}, 1e-4), "NaN in the middle fails (followed by larger finite errors)");
    expect(!within({nan, 0, 0}, 1e-4), "NaN first fails");
    expect(!within({0, 0, nan}, 1e-4), "NaN last fails");
    expect(!within({0, inf, 0}, 1e-4), "an infinite error fails");
    // |got - want| / (1 + |want|) as cpu_check forms it: Inf where a finite value is expected
    // gives Inf, an expected Inf gives NaN: both fail.
    expect(!within({std::fabs(inf - 1.0) / 2.0}, 1e-4), "Inf where finite expected fails");
    expect(!within({std::fabs(inf - inf) / (1 + inf)}, 1e-4), "Inf against Inf (NaN error) fails");
    std::printf("%s\n", failures ? "FAILED" : "all comparator checks passed");
    return failures ? 1 : 0;
}
