// Memory-management bring-up, in order: the physical map, the lowmem/highmem
// split, boot reservations, the direct map, mem_map, zones, the pmem domain
// and the buddy allocator.
#pragma once

#include "lib/cmdline.h"
#include "mm/types.h"
#include "lib/types.h"

namespace mm {

// The physical memory as the boot loader described it. Boot hands it over;
// mm does not read the loader's structures itself.
struct RamRange {
    u64 base;
    u64 length;
    bool usable;   // RAM the kernel may have; anything else is reserved
};
struct ReservedRange {
    u64 base;
    u64 length;
    const char* what;   // in the memblock report
};
struct MemoryMap {
    const RamRange* ranges = nullptr;
    unsigned count = 0;
    u32 mem_upper_kb = 0;   // without ranges: the loader's RAM above 1 MiB
    // Loader structures still being read (the command line, the map itself).
    const ReservedRange* reserved = nullptr;
    unsigned reserved_count = 0;
};

struct MmParams {
    MemoryMap map;
    u64 mem_limit = 0;       // mem=: ignore RAM above this (0: none)
    u64 highmem_bytes = 0;   // highmem=: force this much of the top of RAM into HIGHMEM
    const cmdline::SizeAtList* pmem = nullptr;   // pmem=SIZE@ADDR values (mm/pmem.h)
};

// Smallest mem= accepted: below this the kernel and its tables may not fit.
constexpr u64 MIN_MEM_PARAM = 32ull * 1024 * 1024;

void mm_init(const MmParams& params);

// How far RAM may reach when mem_map, in lowmem, may take at most half of
// the `lowmem_end` pages of lowmem (the rest holds the kernel's own data):
// `ram_end`, or the lower end whose struct pages fit. Never below
// `lowmem_end`. mm_init drops the RAM above it and says so.
Pfn mem_map_reach(Pfn ram_end, Pfn lowmem_end);

} // namespace mm
