// A small persistent worker pool for the CPU kernels. One process-wide pool (the library is
// loaded once per process); concurrent callers are serialised so that a kernel always gets the
// whole pool, and the calling thread works as worker 0.
#pragma once
#include <cstdint>
#include <functional>

namespace ovseg {

// Runs fn(task, worker) for every task in [0, n); worker is in [0, threads()).
// Tasks must not call parallel_for themselves.
void parallel_for(int64_t n, const std::function<void(int64_t task, int worker)> &fn);

int pool_threads();
void pool_set_threads(int n);  // n <= 0: hardware concurrency

}  // namespace ovseg
