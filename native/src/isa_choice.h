// The decision behind isa(): which kernel table to use, given what the CPU supports and what
// OVSEG_CPU_ISA asks for. Kept free of cpuid and of the tables so that native/test can check
// every CPU/request combination on any machine.
#pragma once
#include <cstring>

namespace ovseg {

enum class IsaLevel { kNone, kGeneric, kAvx2, kAvx512 };

struct IsaChoice {
    IsaLevel level;     // kNone: the request cannot be honoured
    const char *error;  // why, when level is kNone; nullptr otherwise
};

// forced: OVSEG_CPU_ISA (nullptr or "" = unset: the widest table the CPU supports). A request
// for a table the CPU lacks, or an unknown name, is an error rather than a silent fallback: a
// test run that forced avx512 must not report avx2 results as avx512 ones.
inline IsaChoice choose_isa(const char *forced, bool has_avx2, bool has_avx512) {
    const IsaLevel best = has_avx512 ? IsaLevel::kAvx512 : has_avx2 ? IsaLevel::kAvx2 : IsaLevel::kGeneric;
    if (!forced || !*forced) return {best, nullptr};
    if (std::strcmp(forced, "generic") == 0) return {IsaLevel::kGeneric, nullptr};
    if (std::strcmp(forced, "avx2") == 0) {
        if (has_avx2) return {IsaLevel::kAvx2, nullptr};
        return {IsaLevel::kNone, "OVSEG_CPU_ISA=avx2, but this CPU lacks AVX2 or FMA"};
    }
    if (std::strcmp(forced, "avx512") == 0) {
        if (has_avx512) return {IsaLevel::kAvx512, nullptr};
        return {IsaLevel::kNone, "OVSEG_CPU_ISA=avx512, but this CPU lacks one of AVX-512 F, VL, DQ, BW"};
    }
    return {IsaLevel::kNone, "OVSEG_CPU_ISA must be generic, avx2 or avx512 (or unset)"};
}

}  // namespace ovseg
