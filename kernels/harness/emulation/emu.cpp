/*
 * Host emulation of the CUDA execution model for kernels/ (*.cu) (see include/cuda_runtime.h).
 *
 * Blocks run one after another; the threads of a block are fibers (own stacks, ovseg_emu_switch below) scheduled on the
 * calling OS thread. Each scheduling round resumes every runnable fiber once, in the order given
 * by OVSEG_EMU_ORDER (forward | reverse | shuffle[:seed]); a fiber runs until it waits at
 * __syncthreads(), waits at a shuffle, or returns. After a round with nothing runnable:
 *   - a warp whose lanes (those named in the mask) all wait at a shuffle exchanges values and
 *     resumes; a lane named in the mask that has exited or waits at a barrier is an error;
 *   - when every thread waits at __syncthreads() the block barrier releases; a barrier reached
 *     while other threads have exited is an error (CUDA leaves it undefined);
 *   - anything else is a deadlock, reported with the threads' states.
 * Blocks run in the same order as threads (reverse order runs the last block first).
 * Errors print one line naming the kernel, block and thread, and abort: a kernel bug must fail
 * the ctest, never pass quietly.
 *
 * Environment: OVSEG_EMU_ORDER as above; OVSEG_EMU_POOLS=0 reports no memory-pool support so the
 * cudaMalloc fallback of ws_alloc runs.
 */
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <sys/mman.h>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define OVSEG_EMU_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

/* Fiber switch without ucontext: swapcontext makes two sigprocmask system calls per switch and,
 * under ASan, clears the shadow of the whole target stack each time, which made the emulation
 * ten times slower. This saves the System V callee-saved registers plus MXCSR and the x87
 * control word on the old stack, stores its stack pointer in *save and resumes the one in next. */
extern "C" void ovseg_emu_switch(void **save, void *next);
#if !defined(__x86_64__)
#error "the kernel emulation's fiber switch is written for x86-64"
#endif
asm(R"(
    .text
    .globl ovseg_emu_switch
    .hidden ovseg_emu_switch
    .type ovseg_emu_switch, @function
ovseg_emu_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size ovseg_emu_switch, .-ovseg_emu_switch
    .section .note.GNU-stack,"",@progbits
    .text
)");

namespace ovseg_emu {

ThreadState *current = nullptr;

namespace {

constexpr size_t kStack = 64 * 1024; /* a 16-byte multiple; a guard page lies below */
constexpr int kMaxThreads = 1024;

enum class St { Runnable, Barrier, Shuffle, Done };

struct Fiber {
    ThreadState ts;
    void *sp = nullptr; /* saved stack pointer while switched out */
    void *stack = nullptr;
    St st = St::Runnable;
    unsigned shfl_mask = 0;
    int shfl_lane_mask = 0;
    uint64_t shfl_in = 0, shfl_out = 0;
};

struct Scheduler {
    std::vector<Fiber> fibers;
    void *main_sp = nullptr;
    const Body *body = nullptr;
    const char *kernel = "";
    Fiber *running = nullptr;
    uint64_t block_serial = 0;
#ifdef OVSEG_EMU_ASAN
    const void *main_stack_bottom = nullptr;
    size_t main_stack_size = 0;
#endif
};
Scheduler g_sched;

enum class Order { Forward, Reverse, Shuffle };
Order g_order = Order::Forward;
uint64_t g_seed = 1;
std::mt19937_64 g_rng;
bool g_pools = true;

[[noreturn]] void fail(const char *fmt, const std::string &detail) {
    const ThreadState *t = g_sched.running ? &g_sched.running->ts : current;
    std::fprintf(stderr, "EMULATION ERROR in kernel %s", g_sched.kernel);
    if (t)
        std::fprintf(stderr, " block (%u,%u,%u) thread (%u,%u,%u)", t->bid.x, t->bid.y, t->bid.z,
                     t->tid.x, t->tid.y, t->tid.z);
    std::fprintf(stderr, ": %s%s\n", fmt, detail.c_str());
    std::fflush(stderr);
    std::abort();
}

void read_env() {
    static bool done = false;
    if (done) return;
    done = true;
    if (const char *o = std::getenv("OVSEG_EMU_ORDER")) {
        const std::string s(o);
        if (s == "forward") g_order = Order::Forward;
        else if (s == "reverse") g_order = Order::Reverse;
        else if (s.rfind("shuffle", 0) == 0) {
            g_order = Order::Shuffle;
            if (s.size() > 8 && s[7] == ':') g_seed = std::strtoull(s.c_str() + 8, nullptr, 10);
        } else {
            std::fprintf(stderr, "OVSEG_EMU_ORDER must be forward, reverse or shuffle[:seed], not '%s'\n", o);
            std::exit(2);
        }
    }
    g_rng.seed(g_seed);
    if (const char *p = std::getenv("OVSEG_EMU_POOLS")) g_pools = std::string(p) != "0";
    std::fprintf(stderr, "[ovseg host emulation: thread order %s%s, memory pools %s]\n",
                 g_order == Order::Forward ? "forward" : g_order == Order::Reverse ? "reverse" : "shuffle",
                 g_order == Order::Shuffle ? (":" + std::to_string(g_seed)).c_str() : "", g_pools ? "on" : "off");
}

/* Visiting order for n items under the configured order. */
void order_of(std::vector<int> &idx, int n) {
    idx.resize((size_t)n);
    for (int i = 0; i < n; ++i) idx[(size_t)i] = i;
    if (g_order == Order::Reverse) std::reverse(idx.begin(), idx.end());
    else if (g_order == Order::Shuffle) std::shuffle(idx.begin(), idx.end(), g_rng);
}

/* ---- fiber switching (annotated for AddressSanitizer) ---------------------------------------- */
void switch_to_fiber(Fiber &f) {
    g_sched.running = &f;
    current = &f.ts;
#ifdef OVSEG_EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f.stack, kStack);
#endif
    ovseg_emu_switch(&g_sched.main_sp, f.sp);
#ifdef OVSEG_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    g_sched.running = nullptr;
    current = nullptr;
}

void yield_to_scheduler(bool finished) {
    Fiber &f = *g_sched.running;
#ifdef OVSEG_EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(finished ? nullptr : &fake, g_sched.main_stack_bottom, g_sched.main_stack_size);
#else
    (void)finished;
#endif
    ovseg_emu_switch(&f.sp, g_sched.main_sp);
#ifdef OVSEG_EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    g_sched.running = &f;
    current = &f.ts;
}

[[noreturn]] void fiber_entry() {
#ifdef OVSEG_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g_sched.main_stack_bottom, &g_sched.main_stack_size);
#endif
    (*g_sched.body)();
    g_sched.running->st = St::Done;
    yield_to_scheduler(true);
    fail("a finished fiber was resumed", "");
}

std::string states(const std::vector<Fiber> &fs, int n) {
    std::string s = " [";
    int shown = 0;
    for (int i = 0; i < n && shown < 8; ++i) {
        const char *w = fs[(size_t)i].st == St::Barrier ? "barrier" : fs[(size_t)i].st == St::Shuffle ? "shuffle"
                      : fs[(size_t)i].st == St::Done    ? "exited"
                                                        : "runnable";
        if (i > 0 && fs[(size_t)i].st == fs[(size_t)i - 1].st) continue;
        s += (shown++ ? ", " : "") + std::string("thread ") + std::to_string(i) + "+: " + w;
    }
    return s + "]";
}

/* Releases the warps whose named lanes all wait at a shuffle; true if any was released. */
bool release_shuffles(int n) {
    std::vector<Fiber> &fs = g_sched.fibers;
    bool any = false;
    for (int w0 = 0; w0 < n; w0 += 32) {
        const int lanes = std::min(32, n - w0);
        int waiting = -1;
        for (int l = 0; l < lanes; ++l)
            if (fs[(size_t)(w0 + l)].st == St::Shuffle) { waiting = l; break; }
        if (waiting < 0) continue;
        const unsigned mask = fs[(size_t)(w0 + waiting)].shfl_mask;
        bool ready = true;
        for (int l = 0; l < 32; ++l) {
            if (!(mask >> l & 1u)) continue;
            if (l >= lanes) {
                g_sched.running = &fs[(size_t)(w0 + waiting)];
                fail("shuffle mask names a lane beyond blockDim", "");
            }
            const Fiber &o = fs[(size_t)(w0 + l)];
            if (o.st == St::Runnable) { ready = false; break; }
            if (o.st != St::Shuffle) {
                g_sched.running = &fs[(size_t)(w0 + waiting)];
                fail("shuffle waits for a lane that ", o.st == St::Done ? "has exited" : "waits at __syncthreads");
            }
            if (o.shfl_mask != mask) {
                g_sched.running = &fs[(size_t)(w0 + l)];
                fail("lanes of one warp shuffle with different masks", "");
            }
        }
        if (!ready) continue;
        for (int l = 0; l < lanes; ++l) {
            Fiber &f = fs[(size_t)(w0 + l)];
            if (!(mask >> l & 1u)) continue;
            const int src = l ^ f.shfl_lane_mask;
            /* a source outside the mask or the warp: CUDA returns the caller's own value */
            f.shfl_out = (src < lanes && (mask >> src & 1u)) ? fs[(size_t)(w0 + src)].shfl_in : f.shfl_in;
        }
        for (int l = 0; l < lanes; ++l)
            if (mask >> l & 1u) fs[(size_t)(w0 + l)].st = St::Runnable;
        any = true;
    }
    return any;
}

void run_block(int n) {
    std::vector<Fiber> &fs = g_sched.fibers;
    std::vector<int> idx;
    for (int i = 0; i < n; ++i) {
        Fiber &f = fs[(size_t)i];
        f.st = St::Runnable;
        /* A fresh frame for ovseg_emu_switch to "return" into fiber_entry: the control words
         * (MXCSR default, x87 default), six zeroed registers, the return address; after the
         * ret, rsp = top - 8, the alignment a called function expects. */
#ifdef OVSEG_EMU_ASAN
        /* frames of the previous block's fiber never returned: drop their stale redzones */
        ASAN_UNPOISON_MEMORY_REGION(f.stack, kStack);
#endif
        uint64_t *sp = (uint64_t *)((char *)f.stack + kStack) - 9;
        std::memset(sp, 0, 9 * sizeof(uint64_t));
        const uint32_t mxcsr = 0x1F80, fpucw = 0x037F;
        std::memcpy(sp, &mxcsr, 4);
        std::memcpy((char *)sp + 4, &fpucw, 2);
        sp[7] = (uint64_t)(uintptr_t)&fiber_entry;
        f.sp = sp;
    }
    for (;;) {
        order_of(idx, n);
        bool ran = false;
        for (int i : idx)
            if (fs[(size_t)i].st == St::Runnable) {
                switch_to_fiber(fs[(size_t)i]);
                ran = true;
            }
        if (ran) continue;
        if (release_shuffles(n)) continue;
        int done = 0, bar = 0, shf = 0;
        for (int i = 0; i < n; ++i) {
            done += fs[(size_t)i].st == St::Done;
            bar += fs[(size_t)i].st == St::Barrier;
            shf += fs[(size_t)i].st == St::Shuffle;
        }
        if (done == n) return;
        if (bar == n) {
            for (int i = 0; i < n; ++i) fs[(size_t)i].st = St::Runnable;
            continue;
        }
        int who = 0;
        while (who < n && fs[(size_t)who].st == St::Done) ++who;
        g_sched.running = &fs[(size_t)who];
        if (shf == 0 && bar + done == n) fail("__syncthreads reached while other threads of the block have exited",
                                              states(fs, n));
        fail("deadlock: threads wait at different barriers or shuffles", states(fs, n));
    }
}

/* ---- device memory registry ------------------------------------------------------------------- */
std::map<uintptr_t, size_t> g_allocs;
cudaError_t g_last = cudaSuccess;

/* True when [p, p+n) lies inside one device allocation. */
bool is_device(const void *p, size_t n) {
    const uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a);
    if (it == g_allocs.begin()) return false;
    --it;
    return a >= it->first && a + n <= it->first + it->second && a + n >= a;
}

cudaError_t set_last(cudaError_t e) {
    if (e != cudaSuccess) g_last = e;
    return e;
}

cudaError_t device_alloc(void **p, size_t bytes) {
    if (!p) return set_last(cudaErrorInvalidValue);
    *p = nullptr;
    if (bytes == 0) return cudaSuccess;
    if (bytes > (size_t)64 << 30) return set_last(cudaErrorMemoryAllocation); /* a 64 GiB "device" */
    void *m = std::malloc(bytes);
    if (!m) return set_last(cudaErrorMemoryAllocation);
    std::memset(m, 0xFF, bytes); /* never-written device memory reads as NaN / -1 */
    g_allocs[(uintptr_t)m] = bytes;
    *p = m;
    return cudaSuccess;
}

cudaError_t device_free(void *p) {
    if (!p) return cudaSuccess;
    auto it = g_allocs.find((uintptr_t)p);
    if (it == g_allocs.end()) {
        std::fprintf(stderr, "EMULATION ERROR: cudaFree of %p, which is not a device allocation\n", p);
        std::abort();
    }
    g_allocs.erase(it);
    std::free(p);
    return cudaSuccess;
}

struct Shared {
    uint64_t block = ~0ull;
};
std::map<void *, Shared> g_shared;

} // namespace

void shared_decl(void *p, size_t bytes) {
    Shared &s = g_shared[p];
    if (s.block != g_sched.block_serial) { /* first thread of this block to reach the declaration */
        s.block = g_sched.block_serial;
        std::memset(p, 0xFF, bytes);
    }
}

void syncthreads() {
    if (!g_sched.running) fail("__syncthreads outside a kernel", "");
    g_sched.running->st = St::Barrier;
    yield_to_scheduler(false);
}

uint64_t shfl_xor(unsigned mask, uint64_t bits, int lane_mask) {
    Fiber *f = g_sched.running;
    if (!f) fail("shuffle outside a kernel", "");
    const unsigned lane = f->ts.tid.x % 32; /* 1-D blocks: the kernels use only x */
    if (!(mask >> lane & 1u)) fail("a lane shuffles with a mask that excludes itself", "");
    f->shfl_mask = mask;
    f->shfl_lane_mask = lane_mask;
    f->shfl_in = bits;
    f->st = St::Shuffle;
    yield_to_scheduler(false);
    return f->shfl_out;
}

cudaError_t launch(const char *name, dim3 grid, dim3 block, size_t smem, cudaStream_t, const Body &body) {
    read_env();
    const uint64_t nthreads = (uint64_t)block.x * block.y * block.z;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || nthreads == 0 || nthreads > kMaxThreads || block.z > 64 ||
        grid.y > 65535 || grid.z > 65535 || grid.x > 2147483647u || smem > 48 * 1024) {
        std::fprintf(stderr, "[emulation: launch of %s with grid (%u,%u,%u) block (%u,%u,%u): invalid configuration]\n",
                     name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
        return set_last(cudaErrorInvalidConfiguration);
    }
    if (block.y != 1 || block.z != 1) {
        std::fprintf(stderr, "EMULATION ERROR: %s: only 1-D blocks are emulated (warps are threadIdx.x / 32)\n", name);
        std::abort();
    }
    const int n = (int)nthreads;
    std::vector<Fiber> &fs = g_sched.fibers;
    while ((int)fs.size() < n) {
        fs.emplace_back();
        void *st = mmap(nullptr, kStack + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (st == MAP_FAILED || mprotect(st, 4096, PROT_NONE) != 0) {
            std::fprintf(stderr, "EMULATION ERROR: cannot map a fiber stack\n");
            std::abort();
        }
        fs.back().stack = (char *)st + 4096; /* overflowing a fiber stack faults on the guard page */
    }
    g_sched.body = &body;
    g_sched.kernel = name;
    const uint64_t nblocks = (uint64_t)grid.x * grid.y * grid.z;
    std::vector<int> border;
    /* Blocks in the configured order; a huge grid is shuffled within chunks of 65536 blocks. */
    for (uint64_t base = 0; base < nblocks; base += 1 << 16) {
        const int chunk = (int)std::min<uint64_t>(1 << 16, nblocks - base);
        border.resize((size_t)chunk);
        for (int i = 0; i < chunk; ++i) border[(size_t)i] = i;
        if (g_order == Order::Shuffle) std::shuffle(border.begin(), border.end(), g_rng);
        for (int bi : border) {
            const uint64_t b = g_order == Order::Reverse ? nblocks - 1 - (base + (uint64_t)bi) : base + (uint64_t)bi;
            ++g_sched.block_serial;
            for (int t = 0; t < n; ++t) {
                ThreadState &ts = fs[(size_t)t].ts;
                ts.bid = uint3{(unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y),
                                    (unsigned)(b / ((uint64_t)grid.x * grid.y))};
                ts.tid = uint3{(unsigned)t, 0, 0};
                ts.bdim = block;
                ts.gdim = grid;
            }
            run_block(n);
        }
    }
    g_sched.kernel = "";
    return cudaSuccess;
}

} // namespace ovseg_emu

/* ---- runtime API ----------------------------------------------------------------------------- */
using namespace ovseg_emu;

struct ovseg_emu_stream {
    int dummy;
};
struct ovseg_emu_event {
    std::chrono::steady_clock::time_point t;
};
struct ovseg_emu_mempool {
    uint64_t threshold;
};
static ovseg_emu_mempool g_pool{0};

const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    default: return "unknown error (emulation)";
    }
}
cudaError_t cudaGetLastError(void) {
    const cudaError_t e = g_last;
    g_last = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError(void) { return g_last; }
cudaError_t cudaRuntimeGetVersion(int *v) {
    *v = CUDART_VERSION;
    return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int *v) {
    *v = CUDART_VERSION;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceCount(int *n) {
    read_env();
    *n = 1;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int *d) {
    *d = 0;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : set_last(cudaErrorInvalidDevice); }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    if (d != 0) return set_last(cudaErrorInvalidDevice);
    std::memset(p, 0, sizeof *p);
    std::snprintf(p->name, sizeof p->name, "ovseg host emulation");
    p->totalGlobalMem = (size_t)64 << 30;
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 1;
    p->l2CacheSize = 1 << 20;
    return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d) {
    if (d != 0) return set_last(cudaErrorInvalidDevice);
    read_env();
    switch (a) {
    case cudaDevAttrMemoryPoolsSupported: *v = g_pools ? 1 : 0; break;
    case cudaDevAttrMultiProcessorCount: *v = 1; break;
    case cudaDevAttrL2CacheSize: *v = 1 << 20; break;
    default: *v = 0; break; /* clocks: unknown, as on some drivers */
    }
    return cudaSuccess;
}
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *pool, int d) {
    if (d != 0 || !g_pools) return set_last(cudaErrorNotSupported);
    *pool = &g_pool;
    return cudaSuccess;
}
cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr, void *v) {
    std::memcpy(v, &pool->threshold, 8);
    return cudaSuccess;
}
cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr, void *v) {
    std::memcpy(&pool->threshold, v, 8);
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaMalloc(void **p, size_t bytes) { return device_alloc(p, bytes); }
cudaError_t cudaFree(void *p) { return device_free(p); }
cudaError_t cudaMallocAsync(void **p, size_t bytes, cudaStream_t) {
    if (!g_pools) {
        std::fprintf(stderr, "EMULATION ERROR: cudaMallocAsync used although memory pools are reported unsupported\n");
        std::abort();
    }
    return device_alloc(p, bytes);
}
cudaError_t cudaFreeAsync(void *p, cudaStream_t) { return device_free(p); }

static void check_range(const char *what, const void *p, size_t n, bool device) {
    if (is_device(p, n) == device) return;
    std::fprintf(stderr, "EMULATION ERROR: %s: [%p, +%zu) %s\n", what, p, n,
                 device ? "is not inside one device allocation" : "is device memory where host memory is expected");
    std::abort();
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
    if (bytes == 0) return cudaSuccess;
    switch (kind) {
    case cudaMemcpyHostToDevice: check_range("cudaMemcpy H2D destination", dst, bytes, true);
        check_range("cudaMemcpy H2D source", src, bytes, false); break;
    case cudaMemcpyDeviceToHost: check_range("cudaMemcpy D2H source", src, bytes, true);
        check_range("cudaMemcpy D2H destination", dst, bytes, false); break;
    case cudaMemcpyDeviceToDevice: check_range("cudaMemcpy D2D source", src, bytes, true);
        check_range("cudaMemcpy D2D destination", dst, bytes, true); break;
    default: break;
    }
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}
cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t) {
    if (bytes == 0) return cudaSuccess;
    check_range("cudaMemset", p, bytes, true);
    std::memset(p, v, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int v, size_t bytes) { return cudaMemsetAsync(p, v, bytes, nullptr); }
cudaError_t cudaStreamCreate(cudaStream_t *s) {
    *s = new ovseg_emu_stream{0};
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) { return cudaStreamCreate(s); }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t *e) {
    *e = new ovseg_emu_event{};
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    e->t = std::chrono::steady_clock::now();
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    *ms = std::chrono::duration<float, std::milli>(b->t - a->t).count();
    return cudaSuccess;
}
