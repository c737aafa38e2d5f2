// Picks the widest kernel table the running CPU supports. OVSEG_CPU_ISA=generic|avx2|avx512
// forces a narrower one (for testing every table on one machine); a request the CPU cannot
// honour falls back to the detected table.
#include <cstdlib>
#include <cstring>

#include "common.h"
#include "isa/kernels.h"

namespace ovseg {
namespace {

bool cpu_has_avx512() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
}

bool cpu_has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const IsaKernels &select() {
    const IsaKernels *best = cpu_has_avx512() ? &kIsaAvx512 : cpu_has_avx2() ? &kIsaAvx2 : &kIsaGeneric;
    const char *forced = std::getenv("OVSEG_CPU_ISA");
    if (forced) {
        if (std::strcmp(forced, "generic") == 0) return kIsaGeneric;
        if (std::strcmp(forced, "avx2") == 0 && cpu_has_avx2()) return kIsaAvx2;
        if (std::strcmp(forced, "avx512") == 0 && cpu_has_avx512()) return kIsaAvx512;
    }
    return *best;
}

}  // namespace

const IsaKernels &isa() {
    static const IsaKernels &chosen = select();
    return chosen;
}

}  // namespace ovseg

OVSEG_API const char *ovseg_cpu_isa(void) { return ovseg::isa().name; }
