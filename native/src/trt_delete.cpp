/*
 * ovseg_trt_delete: `delete p` for a TensorRT object without TensorRT's headers.
 *
 * Every TensorRT interface class the engine holds derives from nvinfer1::INoCopy, whose only
 * virtual function is `virtual ~INoCopy()`; being the primary base, it puts its destructor
 * entries first in the object's vtable. The Itanium C++ ABI (section 2.5.2, "virtual table
 * layout": every x86-64 Linux C++ compiler, TensorRT's included) lays a virtual destructor out
 * as two entries, the complete-object destructor and then the deleting destructor, which runs
 * the most-derived destructor and frees the object with the operator delete of the library that
 * allocated it. Calling entry 1 is therefore what `delete p;` compiles to when the header is
 * available. Doing it by hand (instead of declaring a stand-in class with a virtual destructor)
 * keeps the compiler from devirtualising the call to a destructor that does not exist.
 * native/test/trt_delete_check.cpp checks the mechanism against this compiler's own layout.
 */
#include "ovseg.h"

extern "C" __attribute__((visibility("default"))) void ovseg_trt_delete(void *obj) {
    if (obj == nullptr) return;
    using DeletingDtor = void (*)(void *);
    DeletingDtor *vtable = *static_cast<DeletingDtor **>(obj);
    vtable[1](obj);
}
