// The address types memory management works in: physical addresses, page
// frame numbers, kernel virtual addresses and the page constants. They live
// in lib/addr.h, which arch/x86 shares; here they are brought into mm.
#pragma once

#include "lib/addr.h"

namespace mm {

using lib::PAGE_MASK;
using lib::PAGE_SHIFT;
using lib::PAGE_SIZE;
using lib::Pfn;
using lib::PfnRange;
using lib::PhysAddr;
using lib::VirtAddr;

} // namespace mm
