#include "common.h"

OVSEG_API const char *ovseg_status_string(int status) {
    switch (status) {
        case OVSEG_OK: return "ok";
        case OVSEG_ERR_INVALID_ARGUMENT: return "invalid argument";
        case OVSEG_ERR_OUT_OF_MEMORY: return "out of memory";
        case OVSEG_ERR_NO_CUDA_BUILD: return "ovseg was built without CUDA (nvcc not found at build time)";
        case OVSEG_ERR_NO_DEVICE: return "no usable CUDA device";
        case OVSEG_ERR_CUDA: return "CUDA error";
        case OVSEG_ERR_UNSUPPORTED: return "unsupported on this backend";
        case OVSEG_ERR_ISA: return "OVSEG_CPU_ISA forces a kernel table this CPU cannot run";
        default: return "unknown status";
    }
}
