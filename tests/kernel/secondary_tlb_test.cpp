// Secondary-TLB notifiers (linux-highmem-spec.md §7.3, N1-N4; seeds/004)
// and a simulated device TLB that depends on them
// (tests/kernel/stress/device_tlb.h, shared with the soak).
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/tlb.h"
#include "mm/buddy.h"
#include "mm/faultable.h"
#include "mm/layout.h"
#include "mm/local_mapping.h"
#include "mm/page_copy.h"
#include "mm/pkmap.h"
#include "mm/secondary_tlb.h"
#include "mm/secondary_tlb_testing.h"
#include "mm/zone.h"
#include "sched/mutex.h"
#include "sched/sched.h"
#include "tests/kernel/stress/device_tlb.h"
#include "tests/ktest/ktest.h"
#include "tests/kernel/helpers.h"

using namespace mm;

KTEST_SUITE(secondary_tlb);

namespace {

using stress::Access;
using stress::DeviceTlb;
using stress::Region;
using stress::remap;
using stress::tagged_page;

// ---- a notifier that records its calls and the context they came in --------

struct Recorder {
    SecondaryTlbNotifier n;
    u32 calls = 0;
    u32 last_start = 0;
    u32 last_end = 0;
    u32 bad_context = 0;      // not atomic, interrupts off, in an interrupt, ptl not ours
    u32 invlpg_at_call = 0;   // this CPU's invlpg counter when the last call came
    void (*extra)() = nullptr;
};

void record(SecondaryTlbNotifier& n, u32 start, u32 end);
const SecondaryTlbOps recording_ops = {.invalidate_secondary_tlbs = record};

Recorder& recorder_of(SecondaryTlbNotifier& n) { return *static_cast<Recorder*>(n.data); }

// A recorder, reset, registered for [start, end).
bool listen(Recorder& rec, u32 start, u32 end, void (*extra)() = nullptr) {
    rec.calls = rec.last_start = rec.last_end = rec.bad_context = rec.invlpg_at_call = 0;
    rec.n.data = &rec;
    rec.extra = extra;
    return secondary_tlb_register(rec.n, start, end, recording_ops);
}

void record(SecondaryTlbNotifier& n, u32 start, u32 end) {
    Recorder& rec = recorder_of(n);
    ++rec.calls;
    rec.last_start = start;
    rec.last_end = end;
    rec.bad_context += !sched::in_atomic() || !x86::irqs_enabled() || sched::in_interrupt() ||
                       !n.region->ptl.held_by_this_cpu();
    rec.invlpg_at_call = x86::tlb_counters(x86::this_cpu_index()).invlpg;
    if (rec.extra)
        rec.extra();
}

// Faults page `p` in by writing `value` to its first word.
bool touch(const Region& region, u32 p, u32 value) {
    return copy_to_region(reinterpret_cast<void*>(region.va(p)), &value, 4) == 0;
}

} // namespace

// ---- N1 ---------------------------------------------------------------------------------

KTEST(secondary_tlb, n1_one_call_per_flush_with_its_range_after_the_cpu_flush_under_the_ptl) {
    Region region(8);
    ASSERT_NOT_NULL(region.r);
    static Recorder rec;
    ASSERT_TRUE(listen(rec, region.va(0), region.va(8)));
    for (u32 p = 0; p < 4; ++p)
        ASSERT_TRUE(touch(region, p, p));
    // Each fault is an upgrade of its own page: one call each.
    EXPECT_EQ(rec.calls, 4u);
    EXPECT_EQ(rec.last_start, region.va(3));
    EXPECT_EQ(rec.last_end, region.va(4));

    // An unmap of three pages: one shootdown of three pages, then one call.
    const u32 invlpg_before = x86::tlb_counters(x86::this_cpu_index()).invlpg;
    rec.calls = 0;
    ASSERT_TRUE(region_unmap(region.r, region.va(1), 3 * PAGE_SIZE));
    EXPECT_EQ(rec.calls, 1u);
    EXPECT_EQ(rec.last_start, region.va(1));
    EXPECT_EQ(rec.last_end, region.va(4));
    // The CPU side was flushed before the notifier heard of it.
    EXPECT_EQ(rec.invlpg_at_call - invlpg_before, 3u);

    // Taking write permission away, giving it back, replacing a page: one
    // call each, with the operation's range.
    rec.calls = 0;
    ASSERT_TRUE(region_protect(region.r, region.va(0), PAGE_SIZE, false));
    EXPECT_EQ(rec.calls, 1u);
    ASSERT_TRUE(region_protect(region.r, region.va(0), PAGE_SIZE, true));
    EXPECT_EQ(rec.calls, 2u);
    Page* page = test_support::alloc_highuser_page();
    ASSERT_NOT_NULL(page);
    Page* replaced = nullptr;
    ASSERT_TRUE(region_map_page(region.r, region.va(0), page, true, &replaced));
    EXPECT_EQ(rec.calls, 3u);
    EXPECT_EQ(rec.last_start, region.va(0));
    EXPECT_EQ(rec.last_end, region.va(1));
    EXPECT_NOT_NULL(replaced);
    if (replaced)
        free_page(replaced);
    // Nothing changed, nothing to tell: no flush, no call.
    ASSERT_TRUE(region_unmap(region.r, region.va(5), PAGE_SIZE));
    ASSERT_TRUE(region_protect(region.r, region.va(0), PAGE_SIZE, true));
    EXPECT_EQ(rec.calls, 3u);
    EXPECT_EQ(rec.bad_context, 0u);
    secondary_tlb_unregister(rec.n);
}

KTEST(secondary_tlb, n1_a_notifier_hears_only_of_changes_that_touch_its_range) {
    Region region(8);
    ASSERT_NOT_NULL(region.r);
    static Recorder rec;
    ASSERT_TRUE(listen(rec, region.va(2), region.va(4)));
    for (u32 p = 0; p < 8; ++p)
        ASSERT_TRUE(touch(region, p, p));
    EXPECT_EQ(rec.calls, 2u);   // the faults of pages 2 and 3
    rec.calls = 0;
    ASSERT_TRUE(region_unmap(region.r, region.va(5), 3 * PAGE_SIZE));
    EXPECT_EQ(rec.calls, 0u);
    // A change that overlaps: the call carries the change's whole range.
    ASSERT_TRUE(region_unmap(region.r, region.va(0), 3 * PAGE_SIZE));
    EXPECT_EQ(rec.calls, 1u);
    EXPECT_EQ(rec.last_start, region.va(0));
    EXPECT_EQ(rec.last_end, region.va(3));
    secondary_tlb_unregister(rec.n);
    ASSERT_TRUE(region_unmap(region.r, region.va(3), PAGE_SIZE));
    EXPECT_EQ(rec.calls, 1u);   // unregistered: no more calls
}

// ---- N2 ---------------------------------------------------------------------------------

namespace {
sched::Mutex notifier_mutex;
void sleeps() { sched::sleep_ticks(1); }
void yields() { sched::yield(); }
void takes_a_mutex() {
    sched::MutexGuard guard(notifier_mutex);   // uncontended: it would not block here
}
} // namespace

KTEST(secondary_tlb, n2_a_notifier_that_sleeps_yields_or_takes_a_mutex_warns) {
    Region region(4);
    ASSERT_NOT_NULL(region.r);
    static Recorder rec;
    void (*const misdeeds[])() = {sleeps, yields, takes_a_mutex};
    KTEST_EXPECT_WARN("sched.might_sleep", 3);
    for (unsigned i = 0; i < 3; ++i) {
        ASSERT_TRUE(listen(rec, region.va(0), region.va(4), misdeeds[i]));
        ASSERT_TRUE(touch(region, i, i));   // one upgrade: one call, one WARN
        EXPECT_EQ(rec.calls, 1u);
        secondary_tlb_unregister(rec.n);
    }
}

// ---- N3 ---------------------------------------------------------------------------------

namespace {

struct RangeRecorder {
    SecondaryTlbNotifier n;
    u32 starts = 0;
    u32 ends = 0;
    bool start_could_sleep = true;
};
RangeRecorder range_rec;

void range_start(SecondaryTlbNotifier&, u32, u32) {
    ++range_rec.starts;
    range_rec.start_could_sleep &= !sched::in_atomic() && x86::irqs_enabled();
}
void range_end(SecondaryTlbNotifier&, u32, u32) { ++range_rec.ends; }

const SecondaryTlbOps both_kinds = {
    .invalidate_secondary_tlbs = record, .invalidate_range_start = range_start,
    .invalidate_range_end = range_end};
const SecondaryTlbOps range_only = {.invalidate_range_start = range_start,
                                    .invalidate_range_end = range_end};

} // namespace

KTEST(secondary_tlb, n3_both_kinds_of_callback_in_one_notifier_are_refused) {
    Region region(4);
    ASSERT_NOT_NULL(region.r);
    KTEST_EXPECT_WARN("secondary_tlb.both_kinds", 1);
    SecondaryTlbNotifier n;
    EXPECT_FALSE(secondary_tlb_register(n, region.va(0), region.va(4), both_kinds));
    EXPECT_NULL(n.region);
    // Start/end alone is accepted: it brackets invalidating changes, outside
    // the lock where it may sleep, and hears nothing of upgrades.
    range_rec.starts = range_rec.ends = 0;
    range_rec.start_could_sleep = true;
    ASSERT_TRUE(secondary_tlb_register(range_rec.n, region.va(0), region.va(4), range_only));
    ASSERT_TRUE(touch(region, 0, 1));
    EXPECT_EQ(range_rec.starts, 0u);
    ASSERT_TRUE(region_unmap(region.r, region.va(0), PAGE_SIZE));
    EXPECT_EQ(range_rec.starts, 1u);
    EXPECT_EQ(range_rec.ends, 1u);
    EXPECT_TRUE(range_rec.start_could_sleep);
    secondary_tlb_unregister(range_rec.n);
}

// ---- N4 and the kernel-range refusal ------------------------------------------------------

KTEST(secondary_tlb, n4_a_pool_wrap_and_a_kmap_local_unmap_call_no_notifier) {
    Region region(4);
    ASSERT_NOT_NULL(region.r);
    static Recorder rec;
    ASSERT_TRUE(listen(rec, region.va(0), region.va(4)));
    Page* page = test_support::alloc_highuser_page();
    ASSERT_NOT_NULL(page);
    const SecondaryTlbStats s0 = secondary_tlb_stats();
    const PkmapStats p0 = pkmap_stats();
    {
        LocalMapping m(page);   // unmapped with a local invlpg at the scope's end
        *static_cast<volatile u32*>(m.get()) = 1;
    }
    kmap(page);
    kunmap(page);
    kmap_flush_unused();   // the wrap's flush: every count-1 slot, one shootdown
    const PkmapStats p1 = pkmap_stats();
    EXPECT_GE(p1.flushes - p0.flushes, is_highmem(page) ? 1u : 0u);
    const SecondaryTlbStats s1 = secondary_tlb_stats();
    EXPECT_EQ(rec.calls, 0u);
    EXPECT_EQ(s1.invalidations - s0.invalidations, 0u);
    EXPECT_EQ(s1.callbacks - s0.callbacks, 0u);
    free_page(page);
    // The recorder works: a change in the region reaches it.
    ASSERT_TRUE(touch(region, 0, 1));
    EXPECT_EQ(rec.calls, 1u);
    secondary_tlb_unregister(rec.n);
}

KTEST(secondary_tlb, registering_over_the_fixmap_or_the_pkmap_pool_is_refused) {
    KTEST_EXPECT_WARN("secondary_tlb.kernel_range", 3);
    KTEST_EXPECT_WARN("secondary_tlb.not_a_region", 2);
    SecondaryTlbNotifier n;
    EXPECT_FALSE(secondary_tlb_register(n, PKMAP_BASE, PKMAP_BASE + PAGE_SIZE, recording_ops));
    EXPECT_FALSE(secondary_tlb_register(n, PKMAP_BASE - PAGE_SIZE, PKMAP_BASE + PAGE_SIZE,
                                        recording_ops));
    EXPECT_FALSE(secondary_tlb_register(n, FIXADDR_TOT_START, FIXADDR_TOT_START + PAGE_SIZE,
                                        recording_ops));
    // Next to them but outside any region: refused for that reason instead.
    EXPECT_FALSE(secondary_tlb_register(n, PKMAP_BASE - 2 * PAGE_SIZE, PKMAP_BASE, recording_ops));
    Region region(2);
    ASSERT_NOT_NULL(region.r);
    EXPECT_FALSE(secondary_tlb_register(n, region.va(0), region.va(3), recording_ops));
    EXPECT_NULL(n.region);
}

KTEST(secondary_tlb, a_notification_without_the_ptl_warns) {
    Region region(1);
    ASSERT_NOT_NULL(region.r);
    KTEST_EXPECT_WARN("secondary_tlb.bad_context", 1);
    notify_secondary_tlbs(*region.r, region.va(0), region.va(1), PteChange::Upgrade);
}

// ---- the simulated device TLB ---------------------------------------------------------------

namespace {

DeviceTlb device;

// Up to four workers: their pages then fit the device's cache.
constexpr unsigned MAX_DEVICE_WORKERS = 4;

} // namespace

KTEST(secondary_tlb, the_device_never_uses_a_stale_entry_across_random_changes_on_every_cpu) {
    const unsigned nworkers = min(x86::num_online_cpus(), MAX_DEVICE_WORKERS);
    Region region(stress::DeviceRun::region_pages(nworkers));
    ASSERT_NOT_NULL(region.r);
    ASSERT_TRUE(device.attach(region.r));
    // Bounded by time too: every CPU-side change is a shootdown that waits
    // for every vCPU, and on 2 host cores shared with other work that can
    // take milliseconds. Past the deadline a worker still does its first
    // 200 operations, enough device accesses for the floor checked below.
    const stress::Budget budget = {
        .ops = 3000 * ktest::stress_scale(),
        .deadline_ns = x86::now_ns() + 8'000'000'000ull * ktest::stress_scale(),
        .floor = 200};
    static stress::DeviceRun run;
    ASSERT_TRUE(run.start(device, region, nworkers, 0xde71ce00u, budget));
    run.join();
    u32 device_ops = 0;
    for (unsigned c = 0; c < nworkers; ++c) {
        const stress::DeviceRun::Worker& w = run.worker(c);
        EXPECT_EQ(w.stale_reads.load(), 0u);
        EXPECT_EQ(w.writes_through_readonly.load(), 0u);
        EXPECT_EQ(w.writes_lost.load(), 0u);
        EXPECT_EQ(w.wrong_faults.load(), 0u);   // no spurious device faults either
        EXPECT_EQ(w.cpu_ops_failed.load(), 0u);
        EXPECT_GE(w.device_ops.load(), 100u);   // every CPU took part
        device_ops += w.device_ops.load();
    }
    device.detach();
    const DeviceTlb::Stats s = device.stats();
    ktest_ctx.diag("%u workers: %u device accesses, %u hits, %u misses, %u invalidations, "
                   "%u entries dropped", nworkers, device_ops, s.hits, s.misses, s.invalidations,
                   s.entries_dropped);
    // A device that barely caches proves nothing: most accesses must hit.
    EXPECT_GE(s.hits * 2, device_ops);
    EXPECT_GT(s.entries_dropped, 0u);
    EXPECT_EQ(s.calls_in_interrupt, 0u);
}

// ---- targeted cases and their negative controls ------------------------------------------

namespace {

// The device reads page 0, the CPU puts another page there, the device
// reads again: returns the second read.
u32 device_reads_across_a_remap(const Region& region, bool suppress) {
    if (!remap(region, 0, 0x01d01d, true))
        return 0;
    u32 first = 0, second = 0;
    device.read(region.va(0), &first);
    // The old page is kept until the device is done with it (a remap frees
    // nothing itself), so a stale read finds its old tag, not garbage.
    Page* fresh = tagged_page(0x0e3e3e);
    Page* old = nullptr;
    secondary_tlb_test_suppress(suppress, false);
    region_map_page(region.r, region.va(0), fresh, true, &old);
    secondary_tlb_test_suppress(false, false);
    device.read(region.va(0), &second);
    if (old)
        free_page(old);
    return first == 0x01d01d ? second : 0;
}

// The device reads a read-only page (caching "read-only"), the CPU makes it
// writable, the device writes: returns what the write did.
Access device_writes_after_an_upgrade(const Region& region, bool suppress) {
    if (!remap(region, 1, 0x5eed, false))
        return Access::NotPresent;
    u32 v = 0;
    device.read(region.va(1), &v);
    secondary_tlb_test_suppress(false, suppress);
    region_protect(region.r, region.va(1), PAGE_SIZE, true);
    secondary_tlb_test_suppress(false, false);
    return device.write(region.va(1) + 4, 7);
}

// The device looks at a hole (caching "not present"), the CPU faults the
// page in: returns the device's next read.
Access device_reads_after_a_fault(const Region& region, bool suppress, u32* value) {
    device.read(region.va(2), value);
    secondary_tlb_test_suppress(false, suppress);
    const bool touched = touch(region, 2, 0xfa17);
    secondary_tlb_test_suppress(false, false);
    if (!touched)
        return Access::NotPresent;
    return device.read(region.va(2), value);
}

struct AttachedDevice {
    Region region{4};
    bool ok = region.r && device.attach(region.r);
    ~AttachedDevice() {
        if (ok)
            device.detach();
    }
};

} // namespace

KTEST(secondary_tlb, the_device_sees_a_remap) {
    AttachedDevice d;
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(device_reads_across_a_remap(d.region, false), 0x0e3e3eu);
}

KTEST(secondary_tlb, without_invalidation_notifications_the_device_reads_stale_data) {
    AttachedDevice d;
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(device_reads_across_a_remap(d.region, true), 0x01d01du);
}

KTEST(secondary_tlb, the_device_may_write_once_the_page_is_writable) {
    AttachedDevice d;
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(device_writes_after_an_upgrade(d.region, false), Access::Ok);
}

KTEST(secondary_tlb, without_upgrade_notifications_the_device_refuses_a_writable_page) {
    AttachedDevice d;
    ASSERT_TRUE(d.ok);
    // The spurious fault of seeds/004: a stale read-only entry.
    EXPECT_EQ(device_writes_after_an_upgrade(d.region, true), Access::ReadOnly);
}

KTEST(secondary_tlb, the_device_sees_a_page_faulted_in) {
    AttachedDevice d;
    ASSERT_TRUE(d.ok);
    u32 v = 0;
    EXPECT_EQ(device_reads_after_a_fault(d.region, false, &v), Access::Ok);
    EXPECT_EQ(v, 0xfa17u);
}

KTEST(secondary_tlb, without_upgrade_notifications_a_cached_hole_stays_a_hole) {
    AttachedDevice d;
    ASSERT_TRUE(d.ok);
    u32 v = 0;
    EXPECT_EQ(device_reads_after_a_fault(d.region, true, &v), Access::NotPresent);
}
