/* Host-emulation stand-in for <cuda_bf16.h>: bfloat16 is the top half of an fp32; conversion
 * rounds to nearest even and keeps NaN a (quiet) NaN, as __float2bfloat16 does. */
#ifndef OVSEG_EMU_CUDA_BF16_H
#define OVSEG_EMU_CUDA_BF16_H
#include <cstdint>
#include <cstring>

struct __nv_bfloat16 {
    uint16_t x;
};
inline __nv_bfloat16 __float2bfloat16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    __nv_bfloat16 r;
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        r.x = (uint16_t)((u >> 16) | 0x40u); /* NaN stays NaN (quiet) */
        return r;
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    r.x = (uint16_t)(u >> 16);
    return r;
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __float2bfloat16(f); }
inline float __bfloat162float(__nv_bfloat16 h) {
    const uint32_t u = (uint32_t)h.x << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
#endif
