/* Host-emulation stand-in for <cuda_fp16.h>: the storage type and the two conversions the
 * kernels and the harness use. Rounding is IEEE round-to-nearest-even (what __float2half does),
 * done by GCC's _Float16 so it does not depend on a hand-written bit trick. */
#ifndef OVSEG_EMU_CUDA_FP16_H
#define OVSEG_EMU_CUDA_FP16_H
#include <cstdint>
#include <cstring>

struct __half {
    uint16_t x;
};
inline __half __float2half(float f) {
    const _Float16 h = (_Float16)f;
    __half r;
    std::memcpy(&r.x, &h, 2);
    return r;
}
inline __half __float2half_rn(float f) { return __float2half(f); }
inline float __half2float(__half h) {
    _Float16 v;
    std::memcpy(&v, &h.x, 2);
    return (float)v;
}
#endif
