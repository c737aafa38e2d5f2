// A small persistent worker pool for the CPU kernels, one per process (the library is loaded
// once). Concurrent callers run concurrently: each call works on its calling thread as worker 0
// and borrows whichever pool workers are idle at that moment, up to threads() - 1 in all, so a
// lone call gets the whole pool while N simultaneous calls share it instead of queueing for it.
// The pool never holds more than threads() - 1 workers: callers plus workers never exceed the
// configured thread count by more than the number of callers.
#pragma once
#include <cstdint>
#include <functional>

namespace ovseg {

// Runs fn(task, worker) for every task in [0, n); worker is in [0, threads()) and unique among
// the threads of this call. Which worker runs which task, and how many workers a call gets,
// vary from call to call: results must depend only on the task index (kernels split work by
// pool_threads(), never by the workers actually obtained). Tasks must not call parallel_for.
void parallel_for(int64_t n, const std::function<void(int64_t task, int worker)> &fn);

int pool_threads();
void pool_set_threads(int n);  // n <= 0: hardware concurrency

}  // namespace ovseg
