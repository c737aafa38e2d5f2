// The ISA decision for every CPU/request combination, including CPUs this machine is not:
// a forced table the CPU lacks (or an unknown name) is refused with a reason, never swapped
// for another table.
#include <cstdio>
#include <cstring>

#include "isa_choice.h"

namespace {
int failures = 0;

void expect(const char *forced, bool avx2, bool avx512, ovseg::IsaLevel level, const char *error_part) {
    const ovseg::IsaChoice c = ovseg::choose_isa(forced, avx2, avx512);
    bool ok = c.level == level;
    if (error_part) ok &= c.error && std::strstr(c.error, error_part);
    else ok &= c.error == nullptr;
    std::printf("%s OVSEG_CPU_ISA=%s on a CPU with%s%s -> level %d, %s\n", ok ? "PASS" : "FAIL",
                forced ? forced : "(unset)", avx2 ? " avx2" : "", avx512 ? " avx512" : " no avx512",
                static_cast<int>(c.level), c.error ? c.error : "no error");
    if (!ok) ++failures;
}
}  // namespace

int main() {
    using L = ovseg::IsaLevel;
    expect(nullptr, true, true, L::kAvx512, nullptr);
    expect(nullptr, true, false, L::kAvx2, nullptr);
    expect(nullptr, false, false, L::kGeneric, nullptr);
    expect("", true, false, L::kAvx2, nullptr);
    expect("generic", true, true, L::kGeneric, nullptr);
    expect("generic", false, false, L::kGeneric, nullptr);
    expect("avx2", true, true, L::kAvx2, nullptr);
    expect("avx2", false, false, L::kNone, "lacks AVX2");
    expect("avx512", true, true, L::kAvx512, nullptr);
    expect("avx512", true, false, L::kNone, "lacks one of AVX-512");
    expect("avx512", false, false, L::kNone, "lacks one of AVX-512");
    expect("AVX2", true, true, L::kNone, "must be generic, avx2 or avx512");
    expect("sse4", true, true, L::kNone, "must be generic, avx2 or avx512");
    return failures ? 1 : 0;
}
