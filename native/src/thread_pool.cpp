#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

namespace ovseg {
namespace {

int hardware_threads() {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(std::min(n, 256u));
}

class Pool {
public:
    Pool() : active_(hardware_threads()) {}

    int threads() const { return active_.load(); }

    void set_threads(int n) {
        std::lock_guard<std::mutex> call(call_mutex_);
        active_ = n <= 0 ? hardware_threads() : std::min(n, 256);
    }

    void run(int64_t n, const std::function<void(int64_t, int)> &fn) {
        if (n <= 0) return;
        std::lock_guard<std::mutex> call(call_mutex_);
        int want = static_cast<int>(std::min<int64_t>(active_.load(), n));
        if (want <= 1) {
            for (int64_t t = 0; t < n; ++t) fn(t, 0);
            return;
        }
        ensure_workers(want - 1);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &fn;
            job_size_ = n;
            next_.store(0);
            helpers_ = want - 1;
            pending_ = want - 1;
            ++generation_;
        }
        wake_.notify_all();
        drain(0);
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return pending_ == 0; });
        job_ = nullptr;
        std::exception_ptr error;
        {
            std::lock_guard<std::mutex> elock(error_mutex_);
            std::swap(error, error_);
        }
        if (error) std::rethrow_exception(error);
    }

private:
    // A task that throws (only std::bad_alloc in practice) stops the job; the first exception
    // is rethrown on the calling thread once every worker is done.
    void drain(int worker) {
        const auto &fn = *job_;
        try {
            for (int64_t t = next_.fetch_add(1); t < job_size_; t = next_.fetch_add(1)) fn(t, worker);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
            next_.store(job_size_);
        }
    }

    void ensure_workers(int count) {
        while (static_cast<int>(workers_) < count) {
            int id = static_cast<int>(++workers_);
            uint64_t born;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                born = generation_;  // the job about to be posted is generation born + 1
            }
            // Detached on purpose: the pool lives as long as the process, and joining threads
            // from a static destructor during JVM shutdown can deadlock.
            std::thread([this, id, born] { loop(id, born); }).detach();
        }
    }

    void loop(int id, uint64_t seen) {
        for (;;) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return generation_ != seen; });
            seen = generation_;
            if (id > helpers_) continue;  // not needed for this job
            lock.unlock();
            drain(id);
            lock.lock();
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::mutex call_mutex_;
    std::mutex mutex_;
    std::mutex error_mutex_;
    std::exception_ptr error_;
    std::condition_variable wake_, done_;
    std::atomic<int> active_;
    size_t workers_ = 0;
    uint64_t generation_ = 0;
    int helpers_ = 0;
    int pending_ = 0;
    const std::function<void(int64_t, int)> *job_ = nullptr;
    int64_t job_size_ = 0;
    std::atomic<int64_t> next_{0};
};

Pool &pool() {
    static Pool *instance = new Pool();  // never destroyed, see ensure_workers
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
