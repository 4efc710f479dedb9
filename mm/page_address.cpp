#include "mm/page_address.h"

#include "lib/bug.h"
#include "lib/spinlock.h"

namespace mm {
namespace {

struct PageAddressMap {
    const Page* page;
    void* virtual_address;
    ListNode node;
};

struct alignas(64) Bucket {   // a cache line each, as in Linux
    Spinlock lock;
    List<PageAddressMap, &PageAddressMap::node> maps;
};

Bucket buckets[PA_HASH_BUCKETS];
// One entry per pool slot: slot n's page is described by maps[n].
PageAddressMap slot_maps[LAST_PKMAP];

// Pointer hashing by the golden ratio (Linux's hash_ptr).
Bucket& bucket_of(const Page* page) {
    const u32 h = reinterpret_cast<u32>(page) * 0x61c88647u;
    return buckets[h >> (32 - PA_HASH_ORDER)];
}

} // namespace

namespace {

void* find_in(Bucket& b, const Page* page) {
    for (PageAddressMap& m : b.maps)
        if (m.page == page)
            return m.virtual_address;
    return nullptr;
}

} // namespace

void* highmem_page_address(const Page* page) {
    Bucket& b = bucket_of(page);
    SpinlockIrqsaveGuard guard(b.lock);
    return find_in(b, page);
}

void* highmem_page_address_pool_locked(const Page* page) { return find_in(bucket_of(page), page); }

void set_page_address(Page* page, void* va) {
    if (!is_highmem(page))
        BUG("mm.set_page_address", "set_page_address(pfn %#x): not a highmem page",
            page_to_pfn(page).value());
    Bucket& b = bucket_of(page);
    if (va) {
        const u32 addr = reinterpret_cast<u32>(va);
        if (addr < PKMAP_BASE || addr - PKMAP_BASE >= LAST_PKMAP * PAGE_SIZE)
            BUG("mm.set_page_address", "set_page_address(pfn %#x, %p): not a pool address",
                page_to_pfn(page).value(), va);
        PageAddressMap& m = slot_maps[(addr - PKMAP_BASE) >> PAGE_SHIFT];
        m.page = page;
        m.virtual_address = va;
        SpinlockIrqsaveGuard guard(b.lock);
        b.maps.push_back(m);
        return;
    }
    SpinlockIrqsaveGuard guard(b.lock);
    for (PageAddressMap& m : b.maps) {
        if (m.page == page) {
            b.maps.remove(m);
            return;
        }
    }
}

unsigned page_address_bucket_size(unsigned b) {
    SpinlockIrqsaveGuard guard(buckets[b].lock);
    return static_cast<unsigned>(buckets[b].maps.size());
}

} // namespace mm
