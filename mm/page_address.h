// page_address() for highmem pages: the hash of pages that kmap() gave a
// pool address (Linux's HASHED_PAGE_VIRTUAL, spec §4.9).
//
// A highmem page has no permanent kernel address; while it sits in a pkmap
// slot (count >= 1) this table maps the page to that slot's address, so
// page_address() finds it. 128 buckets, each a list under its own
// interrupt-safe lock (page_address() may be called from any context; the
// pool's own lookups, under the pool lock, skip it); the
// entries are a static array with one entry per pool slot, so registering
// never allocates. Only the pool writes it, under the pool's lock, which is
// why a page can be in it at most once.
#pragma once

#include "lib/list.h"
#include "lib/spinlock.h"
#include "mm/page.h"

namespace mm {

constexpr unsigned PA_HASH_ORDER = 7;
constexpr unsigned PA_HASH_BUCKETS = 1u << PA_HASH_ORDER;

namespace detail {
struct PageAddressMap {
    const Page* page;
    void* virtual_address;
    ListNode node;
};
struct alignas(64) PageAddressBucket {   // a cache line each, as in Linux
    Spinlock lock;
    List<PageAddressMap, &PageAddressMap::node> maps;
};
extern PageAddressBucket page_address_buckets[PA_HASH_BUCKETS];

// Pointer hashing by the golden ratio (Linux's hash_ptr).
inline PageAddressBucket& page_address_bucket(const Page* page) {
    const u32 h = reinterpret_cast<u32>(page) * 0x61c88647u;
    return page_address_buckets[h >> (32 - PA_HASH_ORDER)];
}
inline void* page_address_find(PageAddressBucket& b, const Page* page) {
    for (PageAddressMap& m : b.maps)
        if (m.page == page)
            return m.virtual_address;
    return nullptr;
}
} // namespace detail

// The pool address of a highmem page, or null (not in any slot).
void* highmem_page_address(const Page* page);
// The same for a caller that holds the pool's lock (mm/pkmap.cpp): every
// writer holds it too, so the bucket's own lock is not taken. Inline: it is
// most of a kmap() hit.
inline void* highmem_page_address_pool_locked(const Page* page) {
    return detail::page_address_find(detail::page_address_bucket(page), page);
}

// Record (va != null, a pool address) or forget (va == null) the pool
// address of a highmem page. BUGs on a lowmem page (mm.set_page_address)
// and on a va outside the pool.
void set_page_address(Page* page, void* va);

// For the consistency test (P12): how many pages bucket `b` holds.
unsigned page_address_bucket_size(unsigned b);

} // namespace mm
