// The buddy page allocator: blocks of 2^order pages, orders 0..10, a free
// list per order per zone, merging with the buddy block on free.
//
// GFP flags choose the zones, in Linux's fallback order:
//   Gfp::Kernel    NORMAL, then DMA: lowmem only, so page_address() works
//   Gfp::HighUser  HIGHMEM first, then NORMAL, then DMA
//   Gfp::Dma       DMA only
//
// Freeing checks the page: a double free, a free of a page that was never
// allocated (or of a tail page, or with the wrong order) WARNs and changes
// nothing. Context: any, except NMI; each zone's lock is taken with
// interrupts saved and disabled.
#pragma once

#include "mm/page.h"

namespace mm {

enum class Gfp : u8 { Kernel, HighUser, Dma };

Page* alloc_pages(Gfp gfp, unsigned order);
inline Page* alloc_page(Gfp gfp) { return alloc_pages(gfp, 0); }
// A block that lies wholly inside `where` (a device that addresses only
// part of RAM; the tests' frames above and below 4 GiB), from the zones of
// `gfp` in its fallback order; null if none is free. Costs a walk of the
// free lists, so not for hot paths.
Page* alloc_pages_in(Gfp gfp, unsigned order, PfnRange where);
void free_pages(Page* page, unsigned order);
inline void free_page(Page* page) { free_pages(page, 0); }

u32 nr_free_pages();
u32 zone_free_pages(ZoneId zone);

// Boot: give the free page frames of `range` to the buddy allocator.
void buddy_add_free_range(PfnRange range);

} // namespace mm
