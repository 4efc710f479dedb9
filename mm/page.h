// struct page: one per page frame of RAM, in one flat array (mem_map)
// indexed by pfn, from 0 to max_pfn. 24 bytes per page: mem_map costs
// 0.59% of RAM (24 MiB for 4 GiB), all of it in lowmem.
//
// Conversions (all O(1)):
//   pfn_to_page / page_to_pfn        Pfn <-> Page*
//   page_address(page)               the direct-map address of a lowmem page;
//                                    for a highmem page its kmap() pool
//                                    address, or null (mm/page_address.h)
//   phys_to_virt / virt_to_phys      lowmem only; anything else is a BUG
//   virt_to_page                     a direct-map address's page
#pragma once

#include "lib/atomic.h"
#include "lib/list.h"
#include "mm/layout.h"
#include "mm/types.h"

namespace mm {

enum class PageState : u8 {
    Reserved,    // never given to the buddy allocator (firmware, kernel, mem_map, ...)
    Free,        // in a buddy free block (the block's head is on a free list)
    Allocated,   // head of an allocated block of 2^order pages
    Tail,        // the other pages of an allocated block
};

enum ZoneId : u8 { ZONE_DMA, ZONE_NORMAL, ZONE_HIGHMEM, NR_ZONES };

struct Page {
    ListNode list;             // buddy: free-list link of a free block's head
    u32 flags = 0;             // owner-defined bits (later issues)
    PageState state = PageState::Reserved;
    u8 order = 0;              // buddy: block order on the head page
    u8 zone = ZONE_DMA;
    u8 reserved0 = 0;
    u32 private_data = 0;      // owner-defined (later issues: kmap bookkeeping)
    Atomic<u32> count{0};      // owner-defined reference count
};
static_assert(sizeof(Page) == 24, "docs/memory.md states 24 bytes per page");

extern Page* mem_map;
extern Pfn max_pfn;         // end of RAM (exclusive)
extern Pfn max_low_pfn;     // end of lowmem (exclusive): high_memory = __va(max_low_pfn)

inline Page* pfn_to_page(Pfn pfn) { return mem_map + pfn.value(); }
inline Pfn page_to_pfn(const Page* page) { return Pfn(static_cast<u32>(page - mem_map)); }
inline bool pfn_valid(Pfn pfn) { return pfn < max_pfn; }
inline bool is_highmem_pfn(Pfn pfn) { return pfn >= max_low_pfn; }
inline bool is_highmem(const Page* page) { return is_highmem_pfn(page_to_pfn(page)); }
inline PhysAddr page_to_phys(const Page* page) { return page_to_pfn(page).phys(); }

void* phys_to_virt(PhysAddr addr);
PhysAddr virt_to_phys(const void* addr);
Page* virt_to_page(const void* addr);
// The page's kernel address if it has one; null for a highmem page that
// kmap() has not put in a pool slot (kmap_local never gives one: P11).
void* page_address(const Page* page);

// Whether `addr` is inside the lowmem direct map.
bool is_direct_map_address(const void* addr);

} // namespace mm
