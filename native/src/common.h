// Internal helpers shared by the CPU twins: argument checks and 64-byte aligned scratch.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>

#include "ovseg.h"

#define OVSEG_API extern "C" __attribute__((visibility("default")))

namespace ovseg {

inline bool any_negative(std::initializer_list<int64_t> sizes) {
    for (int64_t s : sizes) if (s < 0) return true;
    return false;
}

// Owned, 64-byte aligned float storage; never value-initialised (kernels write before reading).
class AlignedFloats {
public:
    AlignedFloats() = default;
    explicit AlignedFloats(size_t n) { reset(n); }
    AlignedFloats(const AlignedFloats &) = delete;
    AlignedFloats &operator=(const AlignedFloats &) = delete;
    ~AlignedFloats() { std::free(data_); }
    // Grows (never shrinks) the buffer; returns false when the allocation fails.
    bool reset(size_t n) {
        if (n <= capacity_) return true;
        std::free(data_);
        size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
        data_ = static_cast<float *>(std::aligned_alloc(64, bytes ? bytes : 64));
        capacity_ = data_ ? n : 0;
        return data_ != nullptr;
    }
    float *data() { return data_; }
    const float *data() const { return data_; }

private:
    float *data_ = nullptr;
    size_t capacity_ = 0;
};

// Saturating size product; sizes already checked non-negative.
inline bool mul_overflows(int64_t a, int64_t b) { return a != 0 && b > INT64_MAX / a; }

}  // namespace ovseg
