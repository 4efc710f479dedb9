#include "mm/page.h"

#include "lib/bug.h"
#include "mm/page_address.h"

namespace mm {

Page* mem_map = nullptr;
Pfn max_pfn;
Pfn max_low_pfn;

bool is_direct_map_address(const void* addr) {
    const auto va = reinterpret_cast<u32>(addr);
    return va >= PAGE_OFFSET && va - PAGE_OFFSET < max_low_pfn.phys().value();
}

void* phys_to_virt(PhysAddr addr) {
    if (addr.value() >= max_low_pfn.phys().value())
        BUG("mm.phys_to_virt", "phys_to_virt(%#llx): not lowmem (lowmem ends at %#llx)",
            static_cast<unsigned long long>(addr.value()),
            static_cast<unsigned long long>(max_low_pfn.phys().value()));
    return reinterpret_cast<void*>(static_cast<u32>(addr.value()) + PAGE_OFFSET);
}

PhysAddr virt_to_phys(const void* addr) {
    if (!is_direct_map_address(addr))
        BUG("mm.virt_to_phys", "virt_to_phys(%p): not a direct-map address", addr);
    return PhysAddr(reinterpret_cast<u32>(addr) - PAGE_OFFSET);
}

Page* virt_to_page(const void* addr) { return pfn_to_page(Pfn::down(virt_to_phys(addr))); }

void* page_address(const Page* page) {
    const Pfn pfn = page_to_pfn(page);
    if (is_highmem_pfn(pfn))
        return highmem_page_address(page);   // its kmap() slot, if it has one
    return phys_to_virt(pfn.phys());
}

} // namespace mm
