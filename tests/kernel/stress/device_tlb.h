// A simulated device TLB that depends on secondary-TLB notifiers, and a
// randomized run against it: shared by the secondary_tlb suite and the soak.
//
// The device caches what it looked up in a faultable region - the frame,
// whether it was writable, and also "not present" - and serves reads and
// writes from that cache (DMA to the frame, through kmap_local), until its
// notifier drops entries. It looks up under the region's page-table lock,
// and it accesses memory under its own lock, which its notifier also takes:
// so an invalidation that returns has waited for any access in flight, as an
// IOMMU's invalidation waits for in-flight DMA.
#pragma once

#include "lib/random.h"
#include "lib/spinlock.h"
#include "mm/faultable.h"
#include "mm/secondary_tlb.h"
#include "tests/kernel/helpers.h"
#include "tests/kernel/stress/workers.h"

namespace stress {

// A region for one case (or the soak), destroyed at its end.
using test_support::Region;

enum class Access : u8 { Ok, NotPresent, ReadOnly };

class DeviceTlb : Pinned {
public:
    static constexpr unsigned ENTRIES = 48;

    struct Stats {
        u32 hits, misses, invalidations, entries_dropped, calls_in_interrupt;
    };

    bool attach(mm::FaultableRegion* r);
    void detach() { mm::secondary_tlb_unregister(m_notifier); }

    // Read or write the word at `va`, as the device would: from its cache,
    // or after a page walk that it then caches, whatever it found.
    Access read(u32 va, u32* value) { return access(va, false, value); }
    Access write(u32 va, u32 value) { return access(va, true, &value); }

    // A consistent snapshot, also while accesses go on.
    Stats stats() const;

private:
    struct Entry {
        u32 page = 0;          // virtual page; 0: empty
        mm::Pfn pfn;
        bool present = false;
        bool writable = false;
    };

    static void invalidate(mm::SecondaryTlbNotifier& n, u32 start, u32 end);
    static const mm::SecondaryTlbOps ops;

    Entry* lookup(u32 page);
    Access use(const Entry& e, u32 va, bool write, u32* value);
    Access access(u32 va, bool write, u32* value);

    mm::SecondaryTlbNotifier m_notifier;
    mm::FaultableRegion* m_region = nullptr;
    mutable Spinlock m_lock;
    Entry m_entries[ENTRIES];
    unsigned m_next_victim = 0;
    Stats m_stats{};
};

// A fresh highmem page with `tag` in word 0.
mm::Page* tagged_page(u32 tag);
// Put a fresh page tagged `tag` at page `p` of the region; frees the old one.
bool remap(const Region& region, u32 p, u32 tag, bool writable);

// ---- the randomized run -------------------------------------------------------------------

// One worker per CPU, each owning PAGES_PER_WORKER pages of the region the
// device is attached to: mostly device traffic, on a working set that fits
// the device's cache (up to four workers), and one CPU-side change in six
// (fault in, unmap, remap, permissions); every device access is checked
// against what the worker knows it has put there.
class DeviceRun : Pinned {
public:
    static constexpr unsigned PAGES_PER_WORKER = 8;

    // What the CPU side knows it has put at a page of the region.
    struct Expected {
        bool present = false;
        bool writable = false;
        u32 tag = 0;   // word 0 of the page
    };

    struct Worker {
        DeviceRun* run;
        unsigned first_page;
        u32 seed;
        Expected expected[PAGES_PER_WORKER];
        Atomic<u32> device_ops;
        Atomic<u32> stale_reads;               // a read that found an old page
        Atomic<u32> writes_through_readonly;   // a write a stale entry let through
        Atomic<u32> writes_lost;               // a write that missed the page mapped now
        Atomic<u32> wrong_faults;              // not present or read-only, wrongly
        Atomic<u32> cpu_ops_failed;            // a region change that did not take
    };

    // The pages of a region for `nworkers` workers.
    static u32 region_pages(unsigned nworkers) { return nworkers * PAGES_PER_WORKER; }

    // Workers on CPUs 0..nworkers-1 against `device`, attached to `region`,
    // until `budget` runs out; worker c seeds its choices with seed_base + c.
    bool start(DeviceTlb& device, const Region& region, unsigned nworkers, u32 seed_base,
               const Budget& budget);
    void join() { m_crew.join(); }

    unsigned workers() const { return m_nworkers; }
    const Worker& worker(unsigned c) const { return m_workers[c]; }

private:
    static void worker_fn(void* arg);
    void device_op(Worker& w, unsigned p, Xorshift32& rng);
    void cpu_op(Worker& w, unsigned p, Xorshift32& rng);

    DeviceTlb* m_device = nullptr;
    const Region* m_region = nullptr;
    Budget m_budget;
    unsigned m_nworkers = 0;
    Worker m_workers[x86::NR_CPUS] = {};
    PinnedWorkers m_crew;
};

} // namespace stress
