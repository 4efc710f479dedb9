// Helpers every suite may use, written once: highmem pages a case owns, the
// guard that skips a case without them, a faultable region for one case, a
// secondary-TLB notifier registered for one scope, and "at scope exit".
#pragma once

#include "lib/atomic.h"
#include "lib/printk.h"
#include "lib/types.h"
#include "mm/buddy.h"
#include "mm/faultable.h"
#include "mm/page.h"
#include "mm/pkmap.h"
#include "mm/secondary_tlb.h"
#include "sched/task.h"
#include "tests/ktest/ktest.h"

namespace test_support {

// The first frame above 4 GiB: only PAE reaches it.
inline constexpr mm::Pfn FIRST_PFN_ABOVE_4G{0x100000};

// Highmem test pages handed out on each side of 4 GiB, for the closing note.
struct HighmemSides {
    Atomic<u32> above_4g{0};
    Atomic<u32> below_4g{0};
    Atomic<u32> turn{0};
};
inline HighmemSides highmem_sides;

inline void note_highmem_sides() {
    printk("# highmem test pages: %u from above 4 GiB, %u from below\n",
           highmem_sides.above_4g.load(), highmem_sides.below_4g.load());
}

// What alloc_page(Gfp::HighUser) gives (highmem first, lowmem once highmem
// is out), except that where highmem lies on both sides of 4 GiB (PAE),
// successive highmem pages alternate between the two. Every suite then maps
// frames whose PTEs need the high word and frames whose PTEs do not: a PTE
// that lost a frame's high bits names a frame below 4 GiB, which the
// patterns the suites check then show.
inline mm::Page* alloc_highuser_page() {
    mm::Page* p = nullptr;
    if (mm::max_pfn > FIRST_PFN_ABOVE_4G) {
        const mm::PfnRange above{FIRST_PFN_ABOVE_4G, mm::max_pfn};
        const mm::PfnRange below{mm::max_low_pfn, FIRST_PFN_ABOVE_4G};
        const bool above_first = highmem_sides.turn.fetch_add(1) & 1;
        p = mm::alloc_pages_in(mm::Gfp::HighUser, 0, above_first ? above : below);
        if (!p)
            p = mm::alloc_pages_in(mm::Gfp::HighUser, 0, above_first ? below : above);
    }
    if (!p)
        p = mm::alloc_page(mm::Gfp::HighUser);
    if (p && mm::is_highmem(p)) {
        const bool above = mm::page_to_pfn(p) >= FIRST_PFN_ABOVE_4G;
        (above ? highmem_sides.above_4g : highmem_sides.below_4g).fetch_add(1);
        if (above)
            ktest::add_closing_note(note_highmem_sides);
    }
    return p;
}

// A page of ZONE_HIGHMEM as alloc_highuser_page() takes them, or null if
// none is free (a lowmem page the allocator falls back on is given back).
inline mm::Page* alloc_highmem_page() {
    mm::Page* p = alloc_highuser_page();
    if (p && !mm::is_highmem(p)) {
        mm::free_page(p);
        return nullptr;
    }
    return p;
}

// Highmem pages a case owns, all freed when it ends, however it ends (and no
// kmap() slot goes on naming a freed page). The array is the caller's: a few
// thousand pointers do not belong on a stack.
class HighmemPages : Pinned {
public:
    template <size_t N>
    explicit HighmemPages(mm::Page* (&storage)[N]) : m_page(storage), m_capacity(N) {}

    ~HighmemPages() {
        if (!m_count)
            return;
        mm::kmap_flush_unused();
        for (unsigned i = 0; i < m_count; ++i)
            mm::free_page(m_page[i]);
    }

    // False if the configuration lacks `count` of them (any taken are still
    // freed at the end).
    bool get(unsigned count) {
        if (count > m_capacity)
            return false;
        while (m_count < count) {
            mm::Page* p = alloc_highmem_page();
            if (!p)
                return false;
            m_page[m_count++] = p;
        }
        return true;
    }

    mm::Page* operator[](unsigned i) const { return m_page[i]; }
    mm::Page** from(unsigned i) const { return m_page + i; }
    unsigned count() const { return m_count; }

private:
    mm::Page** m_page;
    unsigned m_capacity;
    unsigned m_count = 0;
};

// A thread that runs on `cpu` only.
inline sched::KthreadOptions pinned_to(unsigned cpu) {
    sched::KthreadOptions o;
    o.allowed = x86::cpu_bit(cpu);
    o.cpu = static_cast<int>(cpu);
    return o;
}

// In a case body: skip the case unless `pages` (a HighmemPages) got `count`.
#define KTEST_NEED_HIGHMEM(pages, count)                                          \
    do {                                                                          \
        if (!(pages).get(count))                                                  \
            KTEST_SKIP("needs " #count " free highmem pages");                    \
    } while (0)

// A faultable region for one case (or the soak), destroyed at its end.
class Region : Pinned {
public:
    Region() = default;
    explicit Region(u32 pages, const char* name = "test region") { create(pages, name); }
    ~Region() { destroy(); }

    bool create(u32 pages, const char* name = "test region") {
        r = mm::region_create(pages * mm::PAGE_SIZE, name);
        return r != nullptr;
    }
    void destroy() {
        mm::region_destroy(r);
        r = nullptr;
    }
    u32 va(u32 page) const { return r->base + page * mm::PAGE_SIZE; }
    u8* at(u32 offset) const { return reinterpret_cast<u8*>(r->base + offset); }

    mm::FaultableRegion* r = nullptr;
};

// A secondary-TLB notifier registered over a whole region for the life of
// this object (when the region exists and the registration was accepted: ok()).
class NotifierRegistration : Pinned {
public:
    NotifierRegistration(mm::SecondaryTlbNotifier& n, const Region& region,
                         const mm::SecondaryTlbOps& ops, void* data = nullptr)
        : m_notifier(n) {
        n.data = data;
        m_ok = region.r &&
               mm::secondary_tlb_register(n, region.r->base, region.r->base + region.r->size, ops);
    }
    ~NotifierRegistration() {
        if (m_ok)
            mm::secondary_tlb_unregister(m_notifier);
    }
    bool ok() const { return m_ok; }

private:
    mm::SecondaryTlbNotifier& m_notifier;
    bool m_ok;
};

// Runs `f` when the scope ends: a case's own cleanup, whichever way it returns.
template <typename F>
class AtScopeExit : Pinned {
public:
    explicit AtScopeExit(F f) : m_f(f) {}
    ~AtScopeExit() { m_f(); }

private:
    F m_f;
};

} // namespace test_support
