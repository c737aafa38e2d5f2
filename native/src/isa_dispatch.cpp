// Picks the widest kernel table the running CPU supports. OVSEG_CPU_ISA=generic|avx2|avx512
// forces one (for testing every table on one machine); a table the CPU cannot run is refused
// (ovseg_cpu_isa_error), never replaced by another (isa_choice.h).
#include <cstdlib>
#include <cstring>

#include "common.h"
#include "isa/kernels.h"
#include "isa_choice.h"

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

const IsaChoice &choice() {
    static const IsaChoice c = choose_isa(std::getenv("OVSEG_CPU_ISA"), cpu_has_avx2(), cpu_has_avx512());
    return c;
}

}  // namespace

bool isa_ready() { return choice().level != IsaLevel::kNone; }

const IsaKernels &isa() {
    // Entry points check isa_ready() first; the generic table only keeps this total.
    switch (choice().level) {
        case IsaLevel::kAvx512: return kIsaAvx512;
        case IsaLevel::kAvx2: return kIsaAvx2;
        default: return kIsaGeneric;
    }
}

}  // namespace ovseg

OVSEG_API const char *ovseg_cpu_isa(void) { return ovseg::isa_ready() ? ovseg::isa().name : nullptr; }

OVSEG_API const char *ovseg_cpu_isa_error(void) { return ovseg::choice().error; }
