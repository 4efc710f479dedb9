// Memory zones: DMA below 16 MiB, NORMAL up to the lowmem limit, HIGHMEM
// above it (never permanently mapped). Each zone owns its buddy free lists.
#pragma once

#include "lib/list.h"
#include "lib/spinlock.h"
#include "mm/page.h"

namespace mm {

constexpr unsigned MAX_ORDER = 11;   // orders 0..10: blocks of 1 page to 4 MiB

struct FreeArea {
    List<Page, &Page::list> blocks;
    u32 nr_free = 0;   // blocks of this order
};

struct Zone {
    const char* name;
    PfnRange span;            // pfns that belong to the zone (holes included)
    u32 present_pages = 0;    // pages given to the buddy allocator at boot
    u32 free_pages = 0;
    FreeArea free_area[MAX_ORDER];
    Spinlock lock;
};

extern Zone zones[NR_ZONES];

inline Zone& page_zone(const Page* page) { return zones[page->zone]; }

// How RAM was split (filled by mm_init; the tests recompute it independently).
struct MemorySplit {
    u64 ram_top;              // end of usable RAM within the paging mode's and the CPU's reach
    u64 clipped_bytes;        // usable RAM beyond the paging mode's or the CPU's reach, dropped
    u64 mem_map_dropped_bytes;  // RAM dropped because its struct pages would not fit in lowmem
    u64 mem_limit;            // mem= (0: none)
    u64 highmem_param;        // highmem= (0: none); as given
    bool highmem_param_used;  // false when refused
    u32 boot_free_pages;      // buddy free pages right after boot
};
extern MemorySplit memory_split;

// Decide max_low_pfn (and possibly cap max_pfn) the way Linux's
// find_low_pfn_range does; `highmem_bytes` is the highmem= value or 0.
void split_lowmem_highmem(u64 highmem_bytes);

void zones_init();
void print_zone_stats();

} // namespace mm
