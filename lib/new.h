// Placement new, the only form of new the kernel has.
#pragma once

#include "lib/types.h"

#if HIMEM_KERNEL
inline void* operator new(size_t, void* where) noexcept { return where; }
#else
#include <new>
#endif
