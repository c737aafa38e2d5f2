/*
 * Host-emulation stand-in for <cuda_runtime.h> (kernels/harness/emulation).
 *
 * The kernels in kernels/ (*.cu) are compiled by the host C++ compiler against this header after
 * translate.cmake has rewritten the two pieces of CUDA syntax C++ lacks:
 *     k<<<grid, block, smem, stream>>>(args)  ->  k * ::ovseg_emu::Launch("k", grid, block, smem, stream)(args)
 *     __shared__ T name[..];                  ->  static T name[..]; ::ovseg_emu::shared_decl(name, sizeof name);
 * Every CUDA thread of a block runs as a fiber on one OS thread (emu.cpp). A fiber runs until it
 * reaches __syncthreads() or a warp shuffle, so code between two barriers runs thread by thread
 * in a configurable order (forward, reverse, seeded shuffle); a barrier releases only when every
 * thread of the block waits at it, a shuffle only when every lane named in its mask waits at one.
 * A barrier or shuffle that some threads never reach (divergence, early exit) is reported as an
 * error instead of hanging or silently passing. Device memory is host memory from malloc
 * (so AddressSanitizer sees out-of-bounds accesses), filled with 0xFF bytes (NaN) on allocation,
 * as is shared memory at the start of every block. Streams are synchronous.
 */
#ifndef OVSEG_EMU_CUDA_RUNTIME_H
#define OVSEG_EMU_CUDA_RUNTIME_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#define CUDART_VERSION 13000

/* ---- qualifiers -------------------------------------------------------------------------- */
#define __global__
#define __device__
#define __host__
#define __constant__ static const  // read-only from kernels; the host program sees one copy
#define __forceinline__ inline
#define __launch_bounds__(...)
/* __shared__ is left undefined on purpose: translate.cmake must have rewritten every use. */

/* ---- types --------------------------------------------------------------------------------- */
struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInitializationError = 3,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevice = 101,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorLaunchFailure = 719,
    cudaErrorNotSupported = 801,
};
typedef cudaError_t cudaError;

struct ovseg_emu_stream;
struct ovseg_emu_event;
struct ovseg_emu_mempool;
typedef ovseg_emu_stream *cudaStream_t;
typedef ovseg_emu_event *cudaEvent_t;
typedef ovseg_emu_mempool *cudaMemPool_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};
enum cudaDeviceAttr {
    cudaDevAttrClockRate = 13,
    cudaDevAttrMultiProcessorCount = 16,
    cudaDevAttrMemoryClockRate = 36,
    cudaDevAttrGlobalMemoryBusWidth = 37,
    cudaDevAttrL2CacheSize = 38,
    cudaDevAttrMemoryPoolsSupported = 115,
};
enum cudaMemPoolAttr { cudaMemPoolAttrReleaseThreshold = 4 };
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int major, minor;
    int multiProcessorCount;
    int l2CacheSize;
};

/* ---- runtime API (emu.cpp) ----------------------------------------------------------------- */
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
cudaError_t cudaRuntimeGetVersion(int *v);
cudaError_t cudaDriverGetVersion(int *v);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *d);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d);
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d);
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *pool, int d);
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr a, void *v);
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr a, void *v);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocAsync(void **p, size_t bytes, cudaStream_t s);
cudaError_t cudaFreeAsync(void *p, cudaStream_t s);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
cudaError_t cudaMemset(void *p, int v, size_t bytes);
cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b);

/* ---- device side ----------------------------------------------------------------------------- */
namespace ovseg_emu {

/* The state a running fiber sees; `current` is switched by the scheduler. */
struct ThreadState {
    uint3 tid, bid; /* threadIdx, blockIdx */
    dim3 bdim, gdim; /* blockDim, gridDim */
};
extern ThreadState *current;

void syncthreads();
uint64_t shfl_xor(unsigned mask, uint64_t bits, int lane_mask);
void shared_decl(void *p, size_t bytes);

using Body = std::function<void()>;
/* Runs body once per thread of every block (emu.cpp); returns the launch status. */
cudaError_t launch(const char *name, dim3 grid, dim3 block, size_t smem, cudaStream_t s, const Body &body);

template <typename T>
inline T shfl_xor_t(unsigned mask, T v, int lane_mask) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a register value");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    bits = shfl_xor(mask, bits, lane_mask);
    T r;
    std::memcpy(&r, &bits, sizeof(T));
    return r;
}

/* k * Launch(...)(args): the kernel's arguments are copied at launch, as CUDA does. */
template <typename... A>
struct Pack {
    const char *name;
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    std::tuple<std::decay_t<A>...> args;
};
struct Launch {
    const char *name;
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    Launch(const char *n, dim3 g, dim3 b, size_t sm = 0, cudaStream_t s = nullptr)
        : name(n), grid(g), block(b), smem(sm), stream(s) {}
    template <typename... A>
    Pack<A...> operator()(A &&...a) const {
        return Pack<A...>{name, grid, block, smem, stream, std::tuple<std::decay_t<A>...>(std::forward<A>(a)...)};
    }
};
template <typename... P, typename... A>
void operator*(void (*kernel)(P...), Pack<A...> &&pk) {
    static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
    auto args = pk.args;
    launch(pk.name, pk.grid, pk.block, pk.smem, pk.stream, [&]() { std::apply(kernel, args); });
}

} // namespace ovseg_emu

#define threadIdx (::ovseg_emu::current->tid)
#define blockIdx (::ovseg_emu::current->bid)
#define blockDim (::ovseg_emu::current->bdim)
#define gridDim (::ovseg_emu::current->gdim)

inline void __syncthreads() { ::ovseg_emu::syncthreads(); }
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    (void)width;
    return ::ovseg_emu::shfl_xor_t(mask, v, lane_mask);
}
/* Fibers switch only at barriers and shuffles, so a read-modify-write is atomic here. */
inline unsigned long long atomicMax(unsigned long long *p, unsigned long long v) {
    const unsigned long long old = *p;
    if (v > old) *p = v;
    return old;
}
inline int atomicMax(int *p, int v) {
    const int old = *p;
    if (v > old) *p = v;
    return old;
}
inline float atomicAdd(float *p, float v) {
    const float old = *p;
    *p = old + v;
    return old;
}
inline int atomicAdd(int *p, int v) {
    const int old = *p;
    *p = old + v;
    return old;
}
inline unsigned int __float_as_uint(float f) {
    unsigned int u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float __uint_as_float(unsigned int u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
/* Round-to-nearest products and sums with no contraction (the emulation builds with
 * -ffp-contract=off; volatile keeps it so whatever the flags). */
inline float __fmul_rn(float a, float b) {
    volatile float r = a * b;
    return r;
}
inline float __fadd_rn(float a, float b) {
    volatile float r = a + b;
    return r;
}
using std::fmaf;
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

#endif
