// Page tests for the highmem mapping paths (kmap_local, kmap), without the
// division that page_to_pfn() is: mem_map is one array, so the highmem
// pages are the ones from mem_map + max_low_pfn on, a pointer compare.
#pragma once

#include "mm/page.h"

namespace mm {

namespace detail {
extern const Page* highmem_first_page;   // mem_map + max_low_pfn
}

// Fixes the bound: once mem_map and the zones are final, before the first
// kmap_local or kmap (kmap_local_init and pkmap_init call it).
void highmem_init();

inline bool page_is_highmem(const Page* page) { return page >= detail::highmem_first_page; }

// The direct-map address of a lowmem page (page_address() without its
// highmem branch).
inline void* lowmem_page_address(const Page* page) {
    return reinterpret_cast<void*>(PAGE_OFFSET + (page_to_pfn(page).value() << PAGE_SHIFT));
}

} // namespace mm
