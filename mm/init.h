// Memory-management bring-up, in order: the physical map, the lowmem/highmem
// split, boot reservations, the direct map, mem_map, zones and the buddy
// allocator.
#pragma once

#include "lib/types.h"

namespace mm {

struct MmParams {
    u64 mem_limit = 0;       // mem=: ignore RAM above this (0: none)
    u64 highmem_bytes = 0;   // highmem=: force this much of the top of RAM into HIGHMEM
};

// Smallest mem= accepted: below this the kernel and its tables may not fit.
constexpr u64 MIN_MEM_PARAM = 32ull * 1024 * 1024;

void mm_init(const MmParams& params);

} // namespace mm
