#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "common.h"

namespace ovseg {
namespace {

int hardware_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(std::min(n, 256u));
}

// One parallel_for call. Lives on the caller's stack; the caller returns only once every
// borrowed worker has reported done under `mutex`, after which no worker touches it again.
class Job {
public:
    Job(const std::function<void(int64_t, int)> &fn, int64_t n) : fn_(fn), size_(n) {}

    // A task that throws (only std::bad_alloc in practice) stops the job; the first exception
    // is rethrown on the calling thread once every worker is done.
    void drain(int worker) {
        try {
            for (int64_t t = next_.fetch_add(1); t < size_; t = next_.fetch_add(1)) fn_(t, worker);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
            next_.store(size_);
        }
    }

    void expect(int helpers) { pending_ = helpers; }

    void helper_done() {
        std::lock_guard<std::mutex> lock(mutex_);
        // Notified under the lock: once pending_ reads 0 the caller may return and destroy us.
        if (--pending_ == 0) done_.notify_one();
    }

    void finish() {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return pending_ == 0; });
        if (error_) std::rethrow_exception(error_);
    }

private:
    const std::function<void(int64_t, int)> &fn_;
    const int64_t size_;
    std::atomic<int64_t> next_{0};
    std::mutex mutex_;
    std::condition_variable done_;
    int pending_ = 0;
    std::exception_ptr error_;
};

class Pool {
public:
    // OVSEG_CPU_POOL=serial restores the former behaviour (one call at a time, each with the
    // whole pool) so that benchmarks can compare both on the same build.
    Pool() : active_(hardware_threads()) {
        const char *mode = std::getenv("OVSEG_CPU_POOL");
        serial_ = mode && std::strcmp(mode, "serial") == 0;
    }

    int threads() const { return active_.load(); }

    void set_threads(int n) { active_ = n <= 0 ? hardware_threads() : std::min(n, 256); }

    void run(int64_t n, const std::function<void(int64_t, int)> &fn) {
        if (n <= 0) return;
        std::unique_lock<std::mutex> serial;
        if (serial_) serial = std::unique_lock<std::mutex>(serial_mutex_);
        const int want = static_cast<int>(std::min<int64_t>(active_.load(), n));
        if (want <= 1) {
            for (int64_t t = 0; t < n; ++t) fn(t, 0);
            return;
        }
        Job job(fn, n);
        lend(job, want - 1);
        job.drain(0);
        job.finish();
    }

private:
    struct Worker {
        std::condition_variable wake;
        Job *job = nullptr;  // guarded by Pool::mutex_
        int index = 0;
    };

    // Hands the job to up to `count` idle workers (starting new ones while the pool holds fewer
    // than threads() - 1); with none free the caller simply runs every task itself.
    void lend(Job &job, int count) {
        std::lock_guard<std::mutex> lock(mutex_);
        Worker *taken[256];
        int got = 0;
        const int cap = std::max(0, active_.load() - 1);
        while (got < count) {
            Worker *w;
            if (!idle_.empty()) {
                w = idle_.back();
                idle_.pop_back();
            } else if (static_cast<int>(workers_.size()) < cap) {
                w = start_worker();
                if (!w) break;
            } else {
                break;
            }
            taken[got++] = w;
        }
        job.expect(got);
        for (int i = 0; i < got; ++i) {
            taken[i]->job = &job;
            taken[i]->index = i + 1;
            taken[i]->wake.notify_one();
        }
    }

    // Called with mutex_ held. Workers are detached on purpose: the pool lives as long as the
    // process, and joining threads from a static destructor during JVM shutdown can deadlock.
    Worker *start_worker() {
        Worker *w = new Worker();
        try {
            std::thread([this, w] { loop(*w); }).detach();
        } catch (const std::system_error &) {
            delete w;  // no thread to be had: run with the workers we have
            return nullptr;
        }
        workers_.push_back(w);
        return w;
    }

    void loop(Worker &w) {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            w.wake.wait(lock, [&] { return w.job != nullptr; });
            Job *job = w.job;
            const int index = w.index;
            lock.unlock();
            job->drain(index);
            job->helper_done();  // the last touch of *job
            lock.lock();
            w.job = nullptr;
            idle_.push_back(&w);
        }
    }

    std::atomic<int> active_;
    bool serial_ = false;
    std::mutex serial_mutex_;
    std::mutex mutex_;              // guards idle_, workers_ and every Worker::job
    std::vector<Worker *> idle_;
    std::vector<Worker *> workers_;  // never freed, see start_worker
};

Pool &pool() {
    static Pool *instance = new Pool();  // never destroyed, see start_worker
    return *instance;
}

}  // namespace

void parallel_for(int64_t n, const std::function<void(int64_t, int)> &fn) { pool().run(n, fn); }
int pool_threads() { return pool().threads(); }
void pool_set_threads(int n) { pool().set_threads(n); }

}  // namespace ovseg

OVSEG_API int ovseg_cpu_set_threads(int n) {
    ovseg::pool_set_threads(n);
    return OVSEG_OK;
}

OVSEG_API int ovseg_cpu_get_threads(void) { return ovseg::pool_threads(); }
