// vmalloc: virtually contiguous kernel memory in [VMALLOC_START, VMALLOC_END)
// backed by any pages, highmem included.
//
// Every area is followed by one unmapped guard page, so running off its end
// faults instead of corrupting the next area; the page below an area is
// always unmapped too (the previous area's guard, or never-used space), which
// makes vmalloc'd stacks overflow into a guard. Areas are found first-fit in
// a bitmap of the window. Freeing clears the PTEs, shoots them down on every
// CPU (flush_tlb_kernel_range), and only then frees the pages and the range.
//
// Context: task context with interrupts enabled (the shootdown needs them);
// never from interrupts.
#pragma once

#include "mm/types.h"

namespace mm {

void vmalloc_init();

// `owner` is shown in fault reports ("vmalloc area ... of <owner>").
void* vmalloc(u32 bytes, const char* owner);
void vfree(void* addr);

extern u32 VMALLOC_START;

struct VmAreaInfo {
    u32 start;          // first mapped byte
    u32 end;            // end of the mapped pages (the guard page starts here)
    const char* owner;
    bool in_guard;      // the address asked about is the guard page
};
// The area an address belongs to (mapped part or guard page); false if none.
bool vmalloc_area_of(u32 va, VmAreaInfo* info);

u32 vmalloc_used_pages();

} // namespace mm
