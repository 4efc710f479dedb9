#include "tests/kernel/stress/pool_traffic.h"

#include "lib/random.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "mm/pkmap.h"
#include "mm/zone.h"
#include "sched/sched.h"
#include "tests/kernel/helpers.h"

using namespace mm;

namespace stress {

u32 mismatches(const void* va, unsigned index) {
    const auto* w = static_cast<const volatile u32*>(va);
    u32 bad = 0;
    for (u32 i = 0; i < PATTERN_WORDS; ++i)
        bad += w[i] != pattern(index, i);
    return bad;
}

bool HighPages::get(unsigned count) {
    put();
    if (zone_free_pages(ZONE_HIGHMEM) < count + 64)
        return false;
    for (; n < count; ++n) {
        Page* p = test_support::alloc_highuser_page();
        if (!p || !is_highmem(p)) {
            if (p)
                free_page(p);
            put();
            return false;
        }
        page[n] = p;
        auto* w = static_cast<u32*>(kmap_local_page(p));
        for (u32 i = 0; i < PAGE_SIZE / 4; ++i)
            w[i] = i < PATTERN_WORDS ? pattern(n, i) : 0;
        kunmap_local(w);
    }
    return true;
}

void HighPages::put() {
    for (unsigned i = 0; i < n; ++i)
        free_page(page[i]);
    n = 0;
}

// Maps up to 4 random pages at once (kmap has no order rule), checks each
// page's pattern and this CPU's scratch word, writes a new scratch value,
// sometimes yields holding them, unmaps in random order.
void PoolTraffic::worker_fn(void* arg) {
    auto* w = static_cast<Worker*>(arg);
    const HighPages& pages = *w->run->m_pages;
    const Budget& budget = w->run->m_budget;
    Xorshift32 rng(0x5eed0000u + w->cpu);
    u32 op = 0;
    while (budget.go_on(op)) {
        unsigned idx[4];
        void* va[4];
        const unsigned n = 1 + rng.below(4);
        for (unsigned k = 0; k < n; ++k, ++op) {
            idx[k] = rng.below(PAGES);
            va[k] = kmap(pages[idx[k]]);
            if (mismatches(va[k], idx[k]) != 0)
                w->bad_pattern.fetch_add(1, MemoryOrder::Relaxed);
            volatile u32* scratch = static_cast<u32*>(va[k]) + PATTERN_WORDS + w->cpu;
            if (*scratch != w->last_written[idx[k]])
                w->bad_scratch.fetch_add(1, MemoryOrder::Relaxed);
            *scratch = w->last_written[idx[k]] = op + 1;
        }
        if (rng.below(8) == 0)
            sched::yield();
        for (unsigned k = n; k-- > 0;) {
            const unsigned j = rng.below(k + 1);   // any one of those still held
            kunmap(pages[idx[j]]);
            idx[j] = idx[k];
        }
        w->done.store(op, MemoryOrder::Relaxed);
    }
}

bool PoolTraffic::start(const HighPages& pages, unsigned ncpu, const Budget& budget) {
    m_pages = &pages;
    m_budget = budget;
    m_nworkers = min(ncpu, MAX_WORKERS);
    for (unsigned c = 0; c < m_nworkers; ++c) {
        Worker& w = m_workers[c];
        w.run = this;
        w.cpu = c;
        zero(w.done, w.bad_pattern, w.bad_scratch);
        for (u32& v : w.last_written)
            v = 0;
    }
    return m_crew.start(m_nworkers, worker_fn, [this](unsigned c) { return &m_workers[c]; },
                        "pkmap-worker");
}

} // namespace stress
