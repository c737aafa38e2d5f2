// The worker pool under concurrent callers, driven directly (built with -fsanitize=thread where
// the compiler offers it: the ctest then also fails on any data race). Every call must run each
// of its tasks exactly once, with worker ids unique within the call and below threads(), while
// other threads call at the same time and the thread count changes underneath them; a task's
// exception must reach its own caller and leave the pool usable.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "thread_pool.h"

namespace {
std::atomic<int> failures{0};

void fail(const char *what, long a, long b) {
    std::printf("FAIL %s (%ld, %ld)\n", what, a, b);
    ++failures;
}

// One call: each task records its index and its worker; then every task must have run once and
// no two threads of this call may have shared a worker id.
void one_call(int caller, int round, int cap) {
    const int64_t n = 1 + (caller * 131 + round * 17) % 97;
    std::vector<int> runs(static_cast<size_t>(n), 0);
    std::vector<std::atomic<size_t>> owner(static_cast<size_t>(cap));  // thread-id hash, 0 = none yet
    std::atomic<bool> bad_worker{false};
    ovseg::parallel_for(n, [&](int64_t t, int w) {
        runs[static_cast<size_t>(t)] += 1;  // distinct tasks: distinct slots, no race
        if (w < 0 || w >= cap) { bad_worker = true; return; }
        // A worker id belongs to one thread for the whole call.
        const size_t me = std::hash<std::thread::id>{}(std::this_thread::get_id()) | 1;
        size_t seen = 0;
        if (!owner[static_cast<size_t>(w)].compare_exchange_strong(seen, me) && seen != me) bad_worker = true;
    });
    for (int64_t t = 0; t < n; ++t)
        if (runs[static_cast<size_t>(t)] != 1) fail("task not run exactly once", t, runs[static_cast<size_t>(t)]);
    if (bad_worker) fail("worker id out of range or shared between threads", caller, round);
}
}  // namespace

// Two calls must be able to run at the same time: a task of the first waits (bounded) for a
// task of the second. A pool that serialises calls (as this one did before) fails here.
void calls_overlap() {
    std::atomic<bool> started{false}, second_ran{false};
    bool overlapped = false;
    std::thread first([&] {
        ovseg::parallel_for(2, [&](int64_t t, int) {
            if (t != 0) return;
            started = true;
            for (int i = 0; i < 10000 && !second_ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            overlapped = second_ran;
        });
    });
    while (!started) std::this_thread::yield();
    ovseg::parallel_for(2, [&](int64_t, int) { second_ran = true; });
    first.join();
    std::printf("%s a second call runs while the first is still in its kernel\n", overlapped ? "PASS" : "FAIL");
    if (!overlapped) ++failures;
}

int main() {
    ovseg::pool_set_threads(4);
    calls_overlap();
    const int kCap = 8;  // the largest thread count set below
    const int before = failures;
    std::vector<std::thread> callers;
    for (int c = 0; c < 6; ++c)
        callers.emplace_back([c] {
            for (int r = 0; r < 300; ++r) one_call(c, r, kCap);
        });
    // The thread count changes while calls run; only the split of later calls may change.
    std::thread tuner([] {
        for (int i = 0; i < 50; ++i) {
            ovseg::pool_set_threads(1 + i % kCap);
            std::this_thread::yield();
        }
        ovseg::pool_set_threads(4);
    });
    for (auto &t : callers) t.join();
    tuner.join();
    std::printf("%s concurrent callers: every task once, worker ids unique per call\n",
                failures > before ? "FAIL" : "PASS");

    // An exception in one caller's task reaches that caller only; the others finish normally.
    std::atomic<int> thrown{0}, completed{0};
    std::vector<std::thread> mixed;
    for (int c = 0; c < 4; ++c)
        mixed.emplace_back([c, &thrown, &completed] {
            for (int r = 0; r < 100; ++r) {
                try {
                    std::atomic<int64_t> sum{0};
                    ovseg::parallel_for(64, [&](int64_t t, int) {
                        if (c == 0 && t == 13) throw std::runtime_error("task 13");
                        sum += t;
                    });
                    if (c == 0) fail("exception lost", c, r);
                    else if (sum != 64 * 63 / 2) fail("wrong sum", c, sum.load());
                    else ++completed;
                } catch (const std::runtime_error &) {
                    if (c == 0) ++thrown;
                    else fail("exception reached the wrong caller", c, r);
                }
            }
        });
    for (auto &t : mixed) t.join();
    const bool ok = thrown == 100 && completed == 300;
    if (!ok) fail("exception routing", thrown.load(), completed.load());
    std::printf("%s exceptions: %d rethrown to their caller, %d clean calls beside them\n", ok ? "PASS" : "FAIL",
                thrown.load(), completed.load());
    return failures ? 1 : 0;
}
