/*
 * ovseg CUDA runtime layer: device discovery, memory, streams, error reporting.
 *
 * Everything here is a thin, checked wrapper over cudart (linked statically into
 * libovseg_cuda.so, so the library loads on hosts without a CUDA install). Conventions:
 *   - every CUDA failure stores "<call>: <cudaGetErrorString> (<code>)" in a thread-local buffer
 *     (ovseg_cuda_last_error) and returns OVSEG_ERR_CUDA, or OVSEG_ERR_OUT_OF_MEMORY for
 *     cudaErrorMemoryAllocation; a successful call leaves the previous message in place;
 *   - device discovery failures (no driver, driver too old, no device) are OVSEG_ERR_NO_DEVICE;
 *   - streams are cudaStream_t passed as void*; NULL is the legacy default stream;
 *   - 0-byte copies/sets are successful no-ops (pointers unchecked); otherwise NULL pointers are
 *     OVSEG_ERR_INVALID_ARGUMENT.
 * ovseg_status_string is deliberately NOT defined here: libovseg_cpu owns it.
 *
 * Workspace: the kernels need small scratch buffers (the [B*P,E] projection, split-K partials,
 * slot-attention partials). They come from cudaMallocAsync on the caller's stream so that calls
 * stay asynchronous and stream ordered; the device's default memory pool is given a release
 * threshold (256 MiB) the first time, so repeated calls reuse cached blocks instead of going to
 * the OS. Devices without memory-pool support fall back to cudaMalloc + synchronize + cudaFree.
 */
#include <cuda_runtime.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "common.cuh"
#include "ovseg.h"

namespace ovseg_cuda {

namespace {
thread_local char g_error[512] = {0};

constexpr int kMaxDevices = 64;
/* Per device: 0 unknown, 1 pools supported (threshold set), 2 no pool support. */
std::atomic<int> g_pool_state[kMaxDevices];
std::mutex g_pool_mutex;

int pool_state(int device) {
    if (device < 0 || device >= kMaxDevices) return 2;
    int s = g_pool_state[device].load(std::memory_order_acquire);
    if (s != 0) return s;
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    s = g_pool_state[device].load(std::memory_order_relaxed);
    if (s != 0) return s;
    int supported = 0;
    if (cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device) != cudaSuccess)
        supported = 0;
    s = 2;
    if (supported) {
        cudaMemPool_t pool;
        if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess) {
            uint64_t threshold = 256ull << 20;
            /* Only raise it: the host application may have configured the pool already. */
            uint64_t current = 0;
            if (cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &current) ==
                    cudaSuccess &&
                current < threshold)
                (void)cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
            s = 1;
        }
    }
    (void)cudaGetLastError(); /* none of the probes above may leave an error behind */
    g_pool_state[device].store(s, std::memory_order_release);
    return s;
}
} // namespace

void set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
}

int cuda_fail(const char *what, cudaError_t err) {
    set_error("%s: %s (%d)", what, cudaGetErrorString(err), (int)err);
    /* Clear the non-sticky error so that it is not reported again by an unrelated later call. */
    (void)cudaGetLastError();
    return err == cudaErrorMemoryAllocation ? OVSEG_ERR_OUT_OF_MEMORY : OVSEG_ERR_CUDA;
}

int ws_alloc(void **ptr, size_t bytes, cudaStream_t stream) {
    *ptr = nullptr;
    if (bytes == 0) return OVSEG_OK;
    int device = 0;
    OVSEG_CUDA_CHECK(cudaGetDevice(&device));
    if (pool_state(device) == 1) {
        OVSEG_CUDA_CHECK(cudaMallocAsync(ptr, bytes, stream));
    } else {
        OVSEG_CUDA_CHECK(cudaMalloc(ptr, bytes));
    }
    return OVSEG_OK;
}

int ws_free(void *ptr, cudaStream_t stream) {
    if (ptr == nullptr) return OVSEG_OK;
    int device = 0;
    OVSEG_CUDA_CHECK(cudaGetDevice(&device));
    if (pool_state(device) == 1) {
        OVSEG_CUDA_CHECK(cudaFreeAsync(ptr, stream));
    } else {
        OVSEG_CUDA_CHECK(cudaStreamSynchronize(stream));
        OVSEG_CUDA_CHECK(cudaFree(ptr));
    }
    return OVSEG_OK;
}

} // namespace ovseg_cuda

using ovseg_cuda::cuda_fail;
using ovseg_cuda::set_error;

extern "C" {

int ovseg_cuda_compiled(void) { return 1; }

const char *ovseg_cuda_last_error(void) { return ovseg_cuda::g_error; }

int ovseg_cuda_runtime_version(int *version) {
    if (version == nullptr) {
        set_error("ovseg_cuda_runtime_version: version is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    /* The version compiled in (cudaRuntimeGetVersion needs no driver, but this is exact). */
    *version = CUDART_VERSION;
    return OVSEG_OK;
}

int ovseg_cuda_driver_version(int *version) {
    if (version == nullptr) {
        set_error("ovseg_cuda_driver_version: version is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    int v = 0;
    /* Returns 0 in v (and cudaSuccess) when no driver is installed. */
    if (cudaDriverGetVersion(&v) != cudaSuccess) v = 0;
    (void)cudaGetLastError();
    *version = v;
    return OVSEG_OK;
}

int ovseg_cuda_device_count(int *count) {
    if (count == nullptr) {
        set_error("ovseg_cuda_device_count: count is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    *count = 0;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        set_error("cudaGetDeviceCount: %s (%d)", cudaGetErrorString(e), (int)e);
        (void)cudaGetLastError();
        return OVSEG_ERR_NO_DEVICE;
    }
    if (n <= 0) {
        set_error("cudaGetDeviceCount: no CUDA-capable device is visible");
        return OVSEG_ERR_NO_DEVICE;
    }
    *count = n;
    return OVSEG_OK;
}

int ovseg_cuda_device_info(int device, char *name, int len, int *sm_major, int *sm_minor,
                           int64_t *total_memory) {
    if (device < 0 || (name == nullptr && len > 0) || len < 0) {
        set_error("ovseg_cuda_device_info: invalid argument (device %d, name %p, len %d)", device,
                  (void *)name, len);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, device);
    if (e != cudaSuccess) {
        if (e == cudaErrorInvalidDevice) {
            set_error("cudaGetDeviceProperties(%d): %s (%d)", device, cudaGetErrorString(e), (int)e);
            (void)cudaGetLastError();
            return OVSEG_ERR_INVALID_ARGUMENT;
        }
        if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
            set_error("cudaGetDeviceProperties: %s (%d)", cudaGetErrorString(e), (int)e);
            (void)cudaGetLastError();
            return OVSEG_ERR_NO_DEVICE;
        }
        return cuda_fail("cudaGetDeviceProperties", e);
    }
    if (name != nullptr && len > 0) {
        std::strncpy(name, prop.name, (size_t)len - 1);
        name[len - 1] = '\0';
    }
    if (sm_major) *sm_major = prop.major;
    if (sm_minor) *sm_minor = prop.minor;
    if (total_memory) *total_memory = (int64_t)prop.totalGlobalMem;
    return OVSEG_OK;
}

int ovseg_cuda_set_device(int device) {
    if (device < 0) {
        set_error("ovseg_cuda_set_device: negative device %d", device);
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    cudaError_t e = cudaSetDevice(device);
    if (e == cudaErrorInvalidDevice) {
        set_error("cudaSetDevice(%d): %s (%d)", device, cudaGetErrorString(e), (int)e);
        (void)cudaGetLastError();
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
        set_error("cudaSetDevice(%d): %s (%d)", device, cudaGetErrorString(e), (int)e);
        (void)cudaGetLastError();
        return OVSEG_ERR_NO_DEVICE;
    }
    if (e != cudaSuccess) return cuda_fail("cudaSetDevice", e);
    return OVSEG_OK;
}

int ovseg_cuda_malloc(void **ptr, size_t bytes) {
    if (ptr == nullptr) {
        set_error("ovseg_cuda_malloc: ptr is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    *ptr = nullptr;
    if (bytes == 0) return OVSEG_OK; /* cudaFree(NULL) is fine later */
    cudaError_t e = cudaMalloc(ptr, bytes);
    if (e != cudaSuccess) {
        *ptr = nullptr;
        if (e == cudaErrorMemoryAllocation) {
            set_error("cudaMalloc(%zu bytes): %s (%d)", bytes, cudaGetErrorString(e), (int)e);
            (void)cudaGetLastError();
            return OVSEG_ERR_OUT_OF_MEMORY;
        }
        return cuda_fail("cudaMalloc", e);
    }
    return OVSEG_OK;
}

int ovseg_cuda_free(void *ptr) {
    if (ptr == nullptr) return OVSEG_OK;
    cudaError_t e = cudaFree(ptr);
    if (e != cudaSuccess) return cuda_fail("cudaFree", e);
    return OVSEG_OK;
}

int ovseg_cuda_memcpy_h2d(void *dst, const void *src, size_t bytes, void *stream) {
    if (bytes == 0) return OVSEG_OK;
    if (dst == nullptr || src == nullptr) {
        set_error("ovseg_cuda_memcpy_h2d: NULL pointer");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, (cudaStream_t)stream);
    if (e != cudaSuccess) return cuda_fail("cudaMemcpyAsync(HostToDevice)", e);
    return OVSEG_OK;
}

int ovseg_cuda_memcpy_d2h(void *dst, const void *src, size_t bytes, void *stream) {
    if (bytes == 0) return OVSEG_OK;
    if (dst == nullptr || src == nullptr) {
        set_error("ovseg_cuda_memcpy_d2h: NULL pointer");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, (cudaStream_t)stream);
    if (e != cudaSuccess) return cuda_fail("cudaMemcpyAsync(DeviceToHost)", e);
    return OVSEG_OK;
}

int ovseg_cuda_memset(void *ptr, int value, size_t bytes, void *stream) {
    if (bytes == 0) return OVSEG_OK;
    if (ptr == nullptr) {
        set_error("ovseg_cuda_memset: NULL pointer");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    cudaError_t e = cudaMemsetAsync(ptr, value, bytes, (cudaStream_t)stream);
    if (e != cudaSuccess) return cuda_fail("cudaMemsetAsync", e);
    return OVSEG_OK;
}

int ovseg_cuda_stream_create(void **stream) {
    if (stream == nullptr) {
        set_error("ovseg_cuda_stream_create: stream is NULL");
        return OVSEG_ERR_INVALID_ARGUMENT;
    }
    *stream = nullptr;
    cudaStream_t s = nullptr;
    /* A blocking stream: it keeps the implicit ordering with the legacy default stream that
     * callers mixing NULL and created streams rely on. */
    cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamDefault);
    if (e != cudaSuccess) return cuda_fail("cudaStreamCreateWithFlags", e);
    *stream = (void *)s;
    return OVSEG_OK;
}

int ovseg_cuda_stream_destroy(void *stream) {
    if (stream == nullptr) return OVSEG_OK; /* the legacy default stream is not ours to destroy */
    cudaError_t e = cudaStreamDestroy((cudaStream_t)stream);
    if (e != cudaSuccess) return cuda_fail("cudaStreamDestroy", e);
    return OVSEG_OK;
}

int ovseg_cuda_stream_synchronize(void *stream) {
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)stream);
    if (e != cudaSuccess) return cuda_fail("cudaStreamSynchronize", e);
    return OVSEG_OK;
}

} // extern "C"
