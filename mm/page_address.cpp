#include "mm/page_address.h"

#include "lib/bug.h"
#include "lib/spinlock.h"

namespace mm {

using detail::PageAddressBucket;
using detail::PageAddressMap;
using detail::page_address_bucket;

PageAddressBucket detail::page_address_buckets[PA_HASH_BUCKETS];

namespace {

// One entry per pool slot: slot n's page is described by maps[n].
PageAddressMap slot_maps[LAST_PKMAP];

} // namespace

void* highmem_page_address(const Page* page) {
    PageAddressBucket& b = page_address_bucket(page);
    SpinlockIrqsaveGuard guard(b.lock);
    return detail::page_address_find(b, page);
}

void set_page_address(Page* page, void* va) {
    if (!is_highmem(page))
        BUG("mm.set_page_address", "set_page_address(pfn %#x): not a highmem page",
            page_to_pfn(page).value());
    PageAddressBucket& b = page_address_bucket(page);
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
    SpinlockIrqsaveGuard guard(detail::page_address_buckets[b].lock);
    return static_cast<unsigned>(detail::page_address_buckets[b].maps.size());
}

} // namespace mm
