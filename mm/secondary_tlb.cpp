// Secondary-TLB notifiers: the implementation (the contract is in the header).
#include "mm/secondary_tlb.h"
#include "mm/secondary_tlb_testing.h"

#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "lib/bug.h"
#include "mm/faultable.h"
#include "mm/layout.h"
#include "sched/mutex.h"
#include "sched/preempt.h"

namespace mm {
namespace {

struct Stats {
    Atomic<u32> invalidations;
    Atomic<u32> upgrades;
    Atomic<u32> callbacks;
    Atomic<u32> range_pairs;
};
Stats stats;
Atomic<bool> suppress_invalidations{false};
Atomic<bool> suppress_upgrades{false};

// [start, end) and [lo, hi) share an address (hi may be 4 GiB: 64 bits).
bool overlaps(u32 start, u32 end, u32 lo, u64 hi) { return start < hi && end > lo; }

bool is_secondary(const SecondaryTlbOps& ops) { return ops.invalidate_secondary_tlbs != nullptr; }

bool intersects(const SecondaryTlbNotifier& n, u32 start, u32 end) {
    return overlaps(start, end, n.start, n.end);
}

} // namespace

bool secondary_tlb_register(SecondaryTlbNotifier& n, u32 start, u32 end,
                            const SecondaryTlbOps& ops) {
    const bool range_ops = ops.invalidate_range_start || ops.invalidate_range_end;
    // Mainline's rule (N3): a secondary TLB that shares the CPU's page
    // tables is told after each change; start/end would come too early.
    if (WARN_ONCE("secondary_tlb.both_kinds", is_secondary(ops) && range_ops,
                  "notifier for [%#x, %#x): invalidate_secondary_tlbs and start/end together",
                  start, end))
        return false;
    if (WARN("secondary_tlb.no_callback", !is_secondary(ops) && !range_ops,
             "notifier for [%#x, %#x) has no callback", start, end))
        return false;
    // Kernel-range flushes call no notifier: a registration there would
    // silently never fire.
    if (WARN("secondary_tlb.kernel_range",
             overlaps(start, end, FIXADDR_TOT_START, u64{FIXADDR_TOP} + PAGE_SIZE) ||
                 overlaps(start, end, PKMAP_BASE, PKMAP_BASE + LAST_PKMAP * PAGE_SIZE),
             "notifier for [%#x, %#x) overlaps the %s: kernel-range flushes call no notifier",
             start, end, end > FIXADDR_TOT_START ? "fixmap" : "pkmap pool"))
        return false;
    FaultableRegion* r = region_of(start);
    if (WARN("secondary_tlb.not_a_region", start >= end || !r || end - r->base > r->size,
             "notifier for [%#x, %#x): not a range of one faultable region", start, end))
        return false;
    n.ops = &ops;
    n.start = start;
    n.end = end;
    n.region = r;
    if (is_secondary(ops)) {
        RegionPtl ptl(*r);
        r->secondary_notifiers.push_back(n);
    } else {
        sched::MutexGuard guard(r->range_notifiers_mutex);
        r->range_notifiers.push_back(n);
    }
    return true;
}

void secondary_tlb_unregister(SecondaryTlbNotifier& n) {
    FaultableRegion* r = n.region;
    if (!r)
        return;
    // Taking the lock the calls run under: none is running when this returns.
    if (is_secondary(*n.ops)) {
        RegionPtl ptl(*r);
        r->secondary_notifiers.remove(n);
    } else {
        sched::MutexGuard guard(r->range_notifiers_mutex);
        r->range_notifiers.remove(n);
    }
    n.region = nullptr;
}

void notify_secondary_tlbs(FaultableRegion& r, u32 start, u32 end, PteChange change) {
    WARN("secondary_tlb.bad_context",
         !r.ptl.held_by_this_cpu() || sched::in_interrupt() || !x86::irqs_enabled(),
         "secondary-TLB notification for [%#x, %#x) %s", start, end,
         !r.ptl.held_by_this_cpu() ? "without the region's page-table lock"
         : sched::in_interrupt()                 ? "from an interrupt"
                                                 : "with interrupts off");
    const bool invalidate = change == PteChange::Invalidate;
    (invalidate ? stats.invalidations : stats.upgrades).fetch_add(1);
    if ((invalidate ? suppress_invalidations : suppress_upgrades).load())
        return;
    for (SecondaryTlbNotifier& n : r.secondary_notifiers) {
        if (!intersects(n, start, end))
            continue;
        stats.callbacks.fetch_add(1);
        n.ops->invalidate_secondary_tlbs(n, start, end);
    }
}

void notify_range_start(FaultableRegion& r, u32 start, u32 end) {
    might_sleep();
    sched::MutexGuard guard(r.range_notifiers_mutex);
    for (SecondaryTlbNotifier& n : r.range_notifiers)
        if (intersects(n, start, end) && n.ops->invalidate_range_start)
            n.ops->invalidate_range_start(n, start, end);
}

void notify_range_end(FaultableRegion& r, u32 start, u32 end) {
    might_sleep();
    sched::MutexGuard guard(r.range_notifiers_mutex);
    for (SecondaryTlbNotifier& n : r.range_notifiers) {
        if (!intersects(n, start, end))
            continue;
        stats.range_pairs.fetch_add(1);
        if (n.ops->invalidate_range_end)
            n.ops->invalidate_range_end(n, start, end);
    }
}

SecondaryTlbStats secondary_tlb_stats() {
    return {stats.invalidations.load(), stats.upgrades.load(), stats.callbacks.load(),
            stats.range_pairs.load()};
}

void secondary_tlb_test_suppress(bool invalidations, bool upgrades) {
    suppress_invalidations.store(invalidations);
    suppress_upgrades.store(upgrades);
}

} // namespace mm
