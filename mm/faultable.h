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
// (and the same from the region).
//
// Each region has a page-table lock (ptl), a spinlock taken in task context
// with interrupts on, under which its PTEs change: a change that takes a
// translation away (unmap, remap, write permission removed) is followed,
// still under the lock, by a shootdown of its range on every CPU and then by
// the secondary-TLB notifications (mm/secondary_tlb.h); an upgrade
// (not-present -> present, read-only -> writable) needs no CPU flush on
// x86 and is notified right after the PTE write.
#pragma once

#include "arch/x86/paging.h"
#include "lib/atomic.h"
#include "lib/spinlock.h"
#include "mm/page.h"
#include "mm/secondary_tlb.h"
#include "sched/mutex.h"

namespace mm {

struct FaultableRegion {
    u32 base;
    u32 size;
    const char* name;
    Spinlock ptl;              // the region's page-table lock
    Atomic<u32> faults{0};     // faults resolved
    bool used = false;
    // Notifiers: secondary-TLB ones under ptl, start/end ones under the mutex.
    List<SecondaryTlbNotifier, &SecondaryTlbNotifier::node> secondary_notifiers;
    List<SecondaryTlbNotifier, &SecondaryTlbNotifier::node> range_notifiers;
    sched::Mutex range_notifiers_mutex;
};

// The page-table lock: task context, interrupts on (WARNs region.ptl_context
// otherwise: a shootdown under it would wait forever on a CPU spinning for it
// with interrupts off).
class [[nodiscard]] RegionPtl : Pinned {
public:
    explicit RegionPtl(FaultableRegion& r);
    ~RegionPtl() { m_region.ptl.unlock(); }

private:
    FaultableRegion& m_region;
};

// Up to one page table (4 MiB), page-granular; null when none is left.
FaultableRegion* region_create(u32 size, const char* name);
// Unmaps (with a shootdown), frees the pages and the region.
void region_destroy(FaultableRegion* region);
FaultableRegion* region_of(u32 va);
bool region_page_present(const FaultableRegion& region, u32 va);
// The PTE of `va` (stable while the caller holds the region's ptl).
x86::Pte region_pte_value(const FaultableRegion& region, u32 va);

// Page-table changes (task context, may sleep; each WARNs region.bad_range
// and does nothing for a range outside the region):
//   region_unmap      clear [va, va + len): shootdown, notify; pages freed
//   region_protect    write permission on or off for the present pages
//   region_map_page   put `page` at va (the region owns it from now on);
//                     *replaced gets the page it replaced, or null, for the
//                     caller to free once nothing can use it
bool region_unmap(FaultableRegion* region, u32 va, u32 len);
bool region_protect(FaultableRegion* region, u32 va, u32 len, bool writable);
bool region_map_page(FaultableRegion* region, u32 va, Page* page, bool writable, Page** replaced);

u32 copy_to_region(void* dst, const void* src, u32 n);
u32 copy_to_region_inatomic(void* dst, const void* src, u32 n);
u32 copy_from_region(void* dst, const void* src, u32 n);
u32 copy_from_region_inatomic(void* dst, const void* src, u32 n);
// Fault every page of [va, va + n) in (may sleep); false if one cannot be.
bool fault_in_region(void* va, u32 n);

// Protection keys (mm/pks.h): rewrite every region's entries of key `key`'s
// frames for the global rights, with the flush and the notifications a
// change of permission brings (secondary TLBs hear of upgrades too). A keyed
// page mapped into a region stays its owner's: unmapping does not free it.
void region_reprotect_key(unsigned key);

// The page-fault handler's part: resolve a not-present fault in a region.
// Called with interrupts as the faulting code had them; may sleep.
bool region_handle_fault(u32 va);

} // namespace mm
