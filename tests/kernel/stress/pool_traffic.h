// kmap() pool traffic, shared by the pkmap suite and the soak: highmem pages
// filled with a pattern that names them, and one thread per CPU kmap()ing
// them at once, more pages than the pool has slots so that it wraps.
//
// A page's pattern is tied to its index, so a slot that still translates to
// the page it held before the wrap (a missed shootdown) or to another page
// shows as a mismatch; the last words of each page are per-CPU scratch that
// only that CPU's worker writes, so a write through a stale slot shows too.
#pragma once

#include "mm/layout.h"
#include "mm/page.h"
#include "tests/kernel/stress/workers.h"

namespace stress {

// ---- highmem pages, filled with a pattern that names them --------------------

constexpr unsigned MAX_PAGES = 2 * mm::LAST_PKMAP;
constexpr u32 SCRATCH_WORDS = 8;   // the last words of a page: per-CPU scratch
constexpr u32 PATTERN_WORDS = mm::PAGE_SIZE / 4 - SCRATCH_WORDS;

inline u32 pattern(unsigned page, u32 word) { return (page + 1) * 0x9e3779b1u + word; }

// Counts words of page `index`'s pattern that `va` does not show.
u32 mismatches(const void* va, unsigned index);

struct HighPages {
    mm::Page* page[MAX_PAGES] = {};
    unsigned n = 0;

    // `count` highmem pages, each filled through kmap_local with its pattern
    // and zero scratch; false if the configuration does not have them.
    bool get(unsigned count);
    void put();
    mm::Page* operator[](unsigned i) const { return page[i]; }
};

// ---- every CPU at once ---------------------------------------------------------

class PoolTraffic : Pinned {
public:
    static constexpr unsigned PAGES = mm::LAST_PKMAP + mm::LAST_PKMAP / 2;   // wraps happen
    static constexpr unsigned MAX_WORKERS = SCRATCH_WORDS;

    struct Worker {
        PoolTraffic* run;
        unsigned cpu;
        Atomic<u32> done;          // kmap()s so far
        Atomic<u32> bad_pattern;   // mappings that did not show their page's pattern
        Atomic<u32> bad_scratch;   // this CPU's scratch word not as it last wrote it
        u32 last_written[PAGES];   // this worker's scratch word, by page
    };

    // Workers on CPUs 0..ncpu-1 (at most MAX_WORKERS) over pages[0..PAGES),
    // until `budget` runs out. False if a thread could not be created.
    bool start(const HighPages& pages, unsigned ncpu, const Budget& budget);
    void join() { m_crew.join(); }

    unsigned workers() const { return m_nworkers; }
    const Worker& worker(unsigned c) const { return m_workers[c]; }

private:
    static void worker_fn(void* arg);

    const HighPages* m_pages = nullptr;
    Budget m_budget;
    unsigned m_nworkers = 0;
    Worker m_workers[MAX_WORKERS] = {};
    PinnedWorkers m_crew;
};

} // namespace stress
