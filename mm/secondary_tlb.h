// Secondary-TLB notifiers: how a device that caches translations of the
// faultable region (an IOMMU, a GPU: himem's stand-in is the simulated
// device TLB in tests/kernel/secondary_tlb_test.cpp) learns that they
// changed (linux-highmem-spec.md §7; seeds/004).
//
//   static const SecondaryTlbOps ops = {.invalidate_secondary_tlbs = my_flush};
//   SecondaryTlbNotifier n;
//   secondary_tlb_register(n, start, end, ops);   // a range of one region
//   ...
//   secondary_tlb_unregister(n);
//
// invalidate_secondary_tlbs(n, start, end) is called once per change of the
// region's page table that intersects [n.start, n.end), with the change's
// exact range:
//   - every TLB invalidation: unmap, remap of a present page, write
//     permission taken away (after the CPU-side shootdown of that range);
//   - every permission upgrade: not-present -> present (a fault, a map),
//     read-only -> writable (x86 needs no CPU flush for those; a device
//     that caches not-present or read-only entries does).
// It runs in task context, interrupts on, under the region's page-table
// lock (a spinlock: shootdowns run under it, so it is never taken with
// interrupts off), never from an interrupt. So it must not sleep: sleeping,
// yielding or taking a mutex in it trips might_sleep's WARN. Unregistering
// takes that lock, so when it returns no call is running.
//
// invalidate_range_start/end bracket an invalidating change (not an
// upgrade), outside the lock, and may sleep: Linux's start/end pair for
// software secondary MMUs (KVM). A notifier has one kind or the other:
// registering both is refused with a WARN (N3), as mainline does.
//
// Kernel-range flushes (the kmap() pool's wrap, kmap_local's unmap, vmalloc)
// have no address space and call no notifier (N4); a range that overlaps the
// fixmap or the pkmap pool is refused at registration with its own WARN.
//
// Diagnostics (site ids):
//   secondary_tlb.both_kinds      WARN_ONCE: start/end and the secondary-TLB
//                                 callback in one notifier (refused, N3)
//   secondary_tlb.no_callback     WARN: a notifier with no callback (refused)
//   secondary_tlb.kernel_range    WARN: the range overlaps the fixmap or the
//                                 pkmap pool (refused)
//   secondary_tlb.not_a_region    WARN: the range is not inside one region
//   secondary_tlb.bad_context     WARN: called without the region's lock held
//                                 by this CPU, from an interrupt, or with
//                                 interrupts off (the call is still made)
#pragma once

#include "lib/list.h"
#include "lib/types.h"

namespace mm {

struct FaultableRegion;
struct SecondaryTlbNotifier;

struct SecondaryTlbOps {
    void (*invalidate_secondary_tlbs)(SecondaryTlbNotifier& n, u32 start, u32 end) = nullptr;
    void (*invalidate_range_start)(SecondaryTlbNotifier& n, u32 start, u32 end) = nullptr;
    void (*invalidate_range_end)(SecondaryTlbNotifier& n, u32 start, u32 end) = nullptr;
};

struct SecondaryTlbNotifier {
    const SecondaryTlbOps* ops = nullptr;
    u32 start = 0;                    // the registered range [start, end)
    u32 end = 0;
    FaultableRegion* region = nullptr;
    void* data = nullptr;             // the owner's, for its callbacks
    ListNode node;                    // on the region's list, under its lock
};

// False (and a WARN saying why) when refused.
bool secondary_tlb_register(SecondaryTlbNotifier& n, u32 start, u32 end,
                            const SecondaryTlbOps& ops);
void secondary_tlb_unregister(SecondaryTlbNotifier& n);

// ---- the region's side (mm/faultable.cpp) --------------------------------

enum class PteChange : u8 {
    Invalidate,   // a translation went away or lost permissions: after the shootdown
    Upgrade,      // not-present -> present, read-only -> writable
};
// Called with r.ptl held, after the PTEs of [start, end) changed (and, for
// an invalidation, after every CPU flushed them).
void notify_secondary_tlbs(FaultableRegion& r, u32 start, u32 end, PteChange change);
// Around an invalidating change, without the lock (may sleep).
void notify_range_start(FaultableRegion& r, u32 start, u32 end);
void notify_range_end(FaultableRegion& r, u32 start, u32 end);

// ---- counters -----------------------------------------------------------

struct SecondaryTlbStats {
    u32 invalidations;   // notify_secondary_tlbs(Invalidate) calls
    u32 upgrades;        // notify_secondary_tlbs(Upgrade) calls
    u32 callbacks;       // invalidate_secondary_tlbs calls made
    u32 range_pairs;     // start/end pairs made
};
SecondaryTlbStats secondary_tlb_stats();

} // namespace mm
