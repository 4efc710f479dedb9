// The fixed points of the i386 kernel address space known before paging is
// set up properly (the full map is in mm/ and docs/memory.md).
#pragma once

#include "lib/types.h"

namespace x86 {

// 3G/1G split: the kernel half starts here, and lowmem is mapped at
// KERNEL_VMA + physical (Linux's PAGE_OFFSET).
constexpr u32 KERNEL_VMA = 0xC0000000;
// How much physical memory boot/entry.S maps (identity and at KERNEL_VMA).
constexpr u32 EARLY_MAP_BYTES = 16u * 1024 * 1024;

} // namespace x86
