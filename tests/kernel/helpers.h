// Helpers every suite may use, written once: highmem pages a case owns, the
// guard that skips a case without them, a faultable region for one case, a
// secondary-TLB notifier registered for one scope, and "at scope exit".
#pragma once

#include "lib/types.h"
#include "mm/buddy.h"
#include "mm/faultable.h"
#include "mm/page.h"
#include "mm/pkmap.h"
#include "mm/secondary_tlb.h"

namespace test_support {

// A page of ZONE_HIGHMEM, or null if none is free (a lowmem page the
// allocator falls back on is given back).
inline mm::Page* alloc_highmem_page() {
    mm::Page* p = mm::alloc_page(mm::Gfp::HighUser);
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
