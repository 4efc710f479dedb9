// A faultable region: himem's stand-in for a user address space.
//
// A range of addresses below PAGE_OFFSET whose pages are allocated and
// mapped by the page-fault handler on first touch, the way user memory is.
// The handler reads CR2 first thing, then (if the faulting code had
// interrupts on) enables interrupts and may sleep while it resolves the
// fault. With page faults disabled, or in atomic context, it does not
// resolve it: the access goes to its exception-table fixup, as Linux's
// faulthandler_disabled() path does. So:
//
//   copy_to_region(dst, src, n)           may fault and sleep; 0 on success
//   copy_to_region_inatomic(dst, src, n)  page faults disabled: fails fast,
//                                         returns the bytes not copied
//
// (and the same from the region). Each region has a page-table lock, a
// spinlock taken in task context, under which its PTEs change.
#pragma once

#include "lib/atomic.h"
#include "lib/spinlock.h"
#include "mm/types.h"

namespace mm {

struct FaultableRegion {
    u32 base;
    u32 size;
    const char* name;
    Spinlock ptl;              // the region's page-table lock
    Atomic<u32> faults{0};     // faults resolved
    Atomic<u32> sleep_in_fault{0};   // test: sleep a tick inside each fault
    bool used = false;
};

// Up to 4 MiB, page-granular; null when none is left.
FaultableRegion* region_create(u32 size, const char* name);
// Unmaps (with a shootdown), frees the pages and the region.
void region_destroy(FaultableRegion* region);
FaultableRegion* region_of(u32 va);
bool region_page_present(const FaultableRegion& region, u32 va);

u32 copy_to_region(void* dst, const void* src, u32 n);
u32 copy_to_region_inatomic(void* dst, const void* src, u32 n);
u32 copy_from_region(void* dst, const void* src, u32 n);
u32 copy_from_region_inatomic(void* dst, const void* src, u32 n);
// Fault every page of [va, va + n) in (may sleep); false if one cannot be.
bool fault_in_region(void* va, u32 n);

// The page-fault handler's part: resolve a not-present fault in a region.
// Called with interrupts as the faulting code had them; may sleep.
bool region_handle_fault(u32 va);

} // namespace mm
