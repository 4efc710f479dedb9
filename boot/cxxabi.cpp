// The few C++ runtime symbols a freestanding kernel still needs.
#include "lib/bug.h"

extern "C" {

void* __dso_handle = nullptr;

// Built with -fno-use-cxa-atexit: static destructors register through atexit.
// The kernel never exits, so they are never run.
int atexit(void (*)()) { return 0; }

void __cxa_pure_virtual() { panic("pure virtual function called"); }

}

// There is no kernel heap behind new/delete; a delete means a bug.
void operator delete(void*) noexcept { panic("operator delete without a heap"); }
void operator delete(void*, size_t) noexcept { panic("operator delete without a heap"); }
