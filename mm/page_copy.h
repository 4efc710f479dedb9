// Copying to, from and within pages that may be highmem, each through a
// kmap_local mapping held only for the copy (Linux's memcpy_to_page and
// friends). The range must stay inside the page: crossing its end is a BUG
// (highmem.copy_outside_page), as Linux's VM_BUG_ON.
//
// Context: wherever kmap_local is allowed (task or hardirq context).
#pragma once

#include "mm/page.h"

namespace mm {

void memcpy_to_page(Page* page, u32 offset, const void* from, u32 len);
void memcpy_from_page(void* to, Page* page, u32 offset, u32 len);
void memset_page(Page* page, u32 offset, int value, u32 len);
inline void memzero_page(Page* page, u32 offset, u32 len) { memset_page(page, offset, 0, len); }
void copy_highpage(Page* to, Page* from);

} // namespace mm
