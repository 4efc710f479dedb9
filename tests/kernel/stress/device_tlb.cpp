#include "tests/kernel/stress/device_tlb.h"

#include "mm/buddy.h"
#include "mm/local_mapping.h"
#include "mm/page_copy.h"
#include "sched/sched.h"
#include "tests/kernel/helpers.h"

using namespace mm;

namespace stress {

// ---- the device -----------------------------------------------------------------------------

const SecondaryTlbOps DeviceTlb::ops = {.invalidate_secondary_tlbs = DeviceTlb::invalidate};

bool DeviceTlb::attach(FaultableRegion* r) {
    m_region = r;
    for (Entry& e : m_entries)
        e = {};
    m_stats = {};
    m_notifier.data = this;
    return secondary_tlb_register(m_notifier, r->base, r->base + r->size, ops);
}

DeviceTlb::Stats DeviceTlb::stats() const {
    SpinlockGuard guard(m_lock);
    return m_stats;
}

void DeviceTlb::invalidate(SecondaryTlbNotifier& n, u32 start, u32 end) {
    DeviceTlb& d = *static_cast<DeviceTlb*>(n.data);
    SpinlockGuard guard(d.m_lock);   // waits for an access in flight
    d.m_stats.invalidations++;
    d.m_stats.calls_in_interrupt += sched::in_interrupt();
    for (Entry& e : d.m_entries) {
        if (e.page && e.page >= start && e.page < end) {
            e = {};
            d.m_stats.entries_dropped++;
        }
    }
}

DeviceTlb::Entry* DeviceTlb::lookup(u32 page) {
    for (Entry& e : m_entries)
        if (e.page == page)
            return &e;
    return nullptr;
}

// Called with m_lock held: the "DMA" to the frame.
Access DeviceTlb::use(const Entry& e, u32 va, bool write, u32* value) {
    if (!e.present)
        return Access::NotPresent;
    if (write && !e.writable)
        return Access::ReadOnly;
    LocalMapping m(pfn_to_page(e.pfn));
    auto* word = reinterpret_cast<volatile u32*>(static_cast<char*>(m.get()) + (va & ~PAGE_MASK));
    if (write)
        *word = *value;
    else
        *value = *word;
    return Access::Ok;
}

Access DeviceTlb::access(u32 va, bool write, u32* value) {
    const u32 page = va & PAGE_MASK;
    {
        SpinlockGuard guard(m_lock);
        if (Entry* e = lookup(page)) {
            m_stats.hits++;
            return use(*e, va, write, value);
        }
    }
    // A miss: walk the page table under its lock, so that no change can
    // slip between the walk and the cache fill unnoticed.
    RegionPtl ptl(*m_region);
    SpinlockGuard guard(m_lock);
    m_stats.misses++;
    Entry* e = lookup(page);
    if (!e) {
        e = &m_entries[m_next_victim];
        m_next_victim = (m_next_victim + 1) % ENTRIES;
        const x86::Pte pte = region_pte_value(*m_region, page);
        *e = {page, pte.pfn(), pte.present(), pte.writable()};
    }
    return use(*e, va, write, value);
}

Page* tagged_page(u32 tag) {
    Page* page = test_support::alloc_highuser_page();
    if (page)
        memcpy_to_page(page, 0, &tag, 4);
    return page;
}

bool remap(const Region& region, u32 p, u32 tag, bool writable) {
    Page* page = tagged_page(tag);
    if (!page)
        return false;
    Page* old = nullptr;
    const bool ok = region_map_page(region.r, region.va(p), page, writable, &old);
    if (old)
        free_page(old);
    return ok;
}

// ---- the randomized run -------------------------------------------------------------------

namespace {

u32 cpu_read(u32 va) {
    u32 v = 0;
    copy_from_region_inatomic(&v, reinterpret_cast<void*>(va), 4);
    return v;
}

void bump(Atomic<u32>& counter) { counter.fetch_add(1, MemoryOrder::Relaxed); }

} // namespace

// One device access to page `p`, checked against what the worker knows.
void DeviceRun::device_op(Worker& w, unsigned p, Xorshift32& rng) {
    const Expected& x = w.expected[p];
    const u32 va = m_region->va(w.first_page + p);
    bump(w.device_ops);
    if (rng.below(3) == 0) {
        const u32 value = rng.next() | 1;
        const Access a = m_device->write(va + 4, value);
        const Access want = !x.present  ? Access::NotPresent
                            : x.writable ? Access::Ok
                                         : Access::ReadOnly;
        if (a != want) {
            // A write through a stale or downgraded entry, or a spurious fault.
            if (a == Access::Ok)
                bump(w.writes_through_readonly);
            else
                bump(w.wrong_faults);
            return;
        }
        // It must have landed in the page mapped now.
        if (a == Access::Ok && cpu_read(va + 4) != value)
            bump(w.writes_lost);
        return;
    }
    u32 value = 0;
    const Access a = m_device->read(va, &value);
    if (a != (x.present ? Access::Ok : Access::NotPresent))
        bump(w.wrong_faults);
    else if (a == Access::Ok && value != x.tag)
        bump(w.stale_reads);
}

// One CPU-side change to page `p`: fault in, unmap, remap, or permissions.
void DeviceRun::cpu_op(Worker& w, unsigned p, Xorshift32& rng) {
    Expected& x = w.expected[p];
    const Region& region = *m_region;
    const unsigned page = w.first_page + p;
    const u32 tag = rng.next() | 1;
    bool ok = true;
    switch (rng.below(5)) {
    case 0:   // a CPU write: faults the page in if it is not there
        if (x.present && !x.writable)
            ok = region_protect(region.r, region.va(page), PAGE_SIZE, true);
        ok = ok && copy_to_region(reinterpret_cast<void*>(region.va(page)), &tag, 4) == 0;
        x = {true, true, tag};
        break;
    case 1:
        ok = region_unmap(region.r, region.va(page), PAGE_SIZE);
        x = {};
        break;
    case 2: {
        const bool writable = rng.below(2);
        ok = remap(region, page, tag, writable);
        x = {true, writable, tag};
        break;
    }
    default: {   // permissions (no change when not present)
        const bool writable = rng.below(2);
        ok = region_protect(region.r, region.va(page), PAGE_SIZE, writable);
        if (x.present)
            x.writable = writable;
        break;
    }
    }
    if (!ok)
        bump(w.cpu_ops_failed);
}

void DeviceRun::worker_fn(void* arg) {
    auto* w = static_cast<Worker*>(arg);
    DeviceRun& run = *w->run;
    Xorshift32 rng(w->seed);
    // The budget (which reads the clock) is asked every 16 operations only:
    // most operations are cache hits, cheaper than reading the clock.
    for (u32 i = 0; i % 16 ? i < run.m_budget.ops : run.m_budget.go_on(i); ++i) {
        const unsigned p = rng.below(PAGES_PER_WORKER);
        if (rng.below(6) == 0)
            run.cpu_op(*w, p, rng);
        else
            run.device_op(*w, p, rng);
    }
}

bool DeviceRun::start(DeviceTlb& device, const Region& region, unsigned nworkers, u32 seed_base,
                      const Budget& budget) {
    m_device = &device;
    m_region = &region;
    m_budget = budget;
    m_nworkers = min(nworkers, x86::NR_CPUS);
    for (unsigned c = 0; c < m_nworkers; ++c) {
        Worker& w = m_workers[c];
        w.run = this;
        w.first_page = c * PAGES_PER_WORKER;
        w.seed = seed_base + c;
        for (Expected& x : w.expected)
            x = {};
        zero(w.device_ops, w.stale_reads, w.writes_through_readonly, w.writes_lost,
             w.wrong_faults, w.cpu_ops_failed);
    }
    return m_crew.start(m_nworkers, worker_fn, [this](unsigned c) { return &m_workers[c]; },
                        "device-worker");
}

} // namespace stress
