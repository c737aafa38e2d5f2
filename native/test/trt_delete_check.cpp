/*
 * ovseg_trt_delete against this compiler's own vtable layout: a class shaped like TensorRT's
 * interfaces (a primary base whose only virtual function is its destructor, a derived class
 * with more virtual functions and its own destructor) must be destroyed most-derived first and
 * freed by its class's operator delete.
 */
#include <cstdio>
#include <cstdlib>
#include <new>

#include "ovseg.h"

namespace {
int g_derived_dtor = 0, g_base_dtor = 0, g_class_delete = 0;

class NoCopy { /* like nvinfer1::INoCopy */
protected:
    NoCopy() = default;
    virtual ~NoCopy() { ++g_base_dtor; }
};

class Runtime : public NoCopy { /* like nvinfer1::IRuntime: more virtual functions after the destructor */
public:
    virtual int dlaCores() const { return 0; }
    virtual void setMaxThreads(int n) { threads = n; }
    ~Runtime() override { ++g_derived_dtor; }
    static void *operator new(size_t n) { return std::malloc(n); }
    static void operator delete(void *p) {
        ++g_class_delete;
        std::free(p);
    }
    int threads = 1;
    char payload[200] = {};
};
} // namespace

int main() {
    Runtime *r = new Runtime();
    r->setMaxThreads(4);
    ovseg_trt_delete(r);
    ovseg_trt_delete(nullptr);
    const bool ok = g_derived_dtor == 1 && g_base_dtor == 1 && g_class_delete == 1;
    std::printf("%s trt_delete: derived dtor %d, base dtor %d, class operator delete %d (want 1 1 1)\n", ok ? "PASS" : "FAIL",
                g_derived_dtor, g_base_dtor, g_class_delete);
    return ok ? 0 : 1;
}
