// libovseg_cuda as built on a machine without nvcc: the same symbols, each reporting that this
// build has no CUDA, so the Java side and the harness behave exactly as on a GPU-less machine.
#include "common.h"

namespace {
int no_cuda() { return OVSEG_ERR_NO_CUDA_BUILD; }
}  // namespace

OVSEG_API int ovseg_cuda_compiled(void) { return 0; }
OVSEG_API const char *ovseg_cuda_last_error(void) {
    return "ovseg was built without CUDA (nvcc not found at build time)";
}
OVSEG_API int ovseg_cuda_runtime_version(int *v) { if (v) *v = 0; return no_cuda(); }
OVSEG_API int ovseg_cuda_driver_version(int *v) { if (v) *v = 0; return no_cuda(); }
OVSEG_API int ovseg_cuda_device_count(int *n) { if (n) *n = 0; return no_cuda(); }
OVSEG_API int ovseg_cuda_device_info(int, char *name, int len, int *, int *, int64_t *) {
    if (name && len > 0) name[0] = '\0';
    return no_cuda();
}
OVSEG_API int ovseg_cuda_set_device(int) { return no_cuda(); }
OVSEG_API int ovseg_cuda_malloc(void **p, size_t) { if (p) *p = nullptr; return no_cuda(); }
OVSEG_API int ovseg_cuda_free(void *) { return no_cuda(); }
OVSEG_API int ovseg_cuda_memcpy_h2d(void *, const void *, size_t, void *) { return no_cuda(); }
OVSEG_API int ovseg_cuda_memcpy_d2h(void *, const void *, size_t, void *) { return no_cuda(); }
OVSEG_API int ovseg_cuda_memset(void *, int, size_t, void *) { return no_cuda(); }
OVSEG_API int ovseg_cuda_stream_create(void **s) { if (s) *s = nullptr; return no_cuda(); }
OVSEG_API int ovseg_cuda_stream_destroy(void *) { return no_cuda(); }
OVSEG_API int ovseg_cuda_stream_synchronize(void *) { return no_cuda(); }
OVSEG_API int ovseg_cuda_dense_projection(int, const void *, int64_t, int64_t, int64_t,
                                          const float *, const float *, int64_t, const float *,
                                          int64_t, float, float *, int32_t *, float *, void *) {
    return no_cuda();
}
OVSEG_API int ovseg_cuda_mask_pool(int, const void *, const void *, int64_t, int64_t, int64_t,
                                   int64_t, int, int, float *, void *) {
    return no_cuda();
}
OVSEG_API int ovseg_cuda_slot_attention(int, const void *, const void *, const void *, int64_t,
                                        int64_t, int64_t, int64_t, int64_t, float, float, int,
                                        float *, float *, void *) {
    return no_cuda();
}
OVSEG_API int ovseg_cuda_dense_crf(const float *, const uint8_t *, int64_t, int64_t, int64_t, float,
                                   float, float, float, float, int, float *, void *) {
    return no_cuda();
}
OVSEG_API int ovseg_cuda_visual_prompt(const uint8_t *, const float *, int64_t, int64_t, float, int,
                                       uint8_t *, void *) {
    return no_cuda();
}
OVSEG_API int ovseg_cuda_pamr(const float *, int64_t, int64_t, int64_t, float *, int64_t, const int32_t *,
                              int64_t, int, void *) {
    return no_cuda();
}
OVSEG_API int ovseg_cuda_pil_bicubic(const uint8_t *, int64_t, int64_t, int64_t, int64_t, int64_t, uint8_t *,
                                     void *) {
    return no_cuda();
}
