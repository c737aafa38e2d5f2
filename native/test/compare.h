// The worst error over a comparison, NaN-sticky: one NaN (or infinite) error anywhere makes the
// whole comparison fail. The former pattern `if (!(err <= worst)) worst = err;` let a later
// finite error overwrite a NaN, and std::max(worst, NaN) returns worst: either way a NaN in
// the middle of an output passed.
#pragma once
#include <cmath>

namespace ovseg_test {

class WorstError {
public:
    void add(double err) {
        if (std::isnan(value_)) return;
        if (!(err <= value_)) value_ = err;  // NaN compares false: it is taken, then kept
    }
    double value() const { return value_; }
    // True only when every error was a number no larger than tol.
    bool within(double tol) const { return value_ <= tol; }

private:
    double value_ = 0;
};

}  // namespace ovseg_test
