#include "mm/faultable.h"

#include "arch/x86/nofault.h"
#include "arch/x86/paging.h"
#include "arch/x86/tlb.h"
#include "lib/bug.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/page_copy.h"
#include "mm/pgtable.h"
#include "sched/preempt.h"
#include "sched/sched.h"

namespace mm {
namespace {

// Regions live at 1 GiB and up, one page table (4 MiB) each.
constexpr u32 REGION_AREA = 0x40000000;
constexpr unsigned MAX_REGIONS = 8;
constexpr x86::pte_t REGION_PTE = x86::PTE_PRESENT | x86::PTE_WRITE;

FaultableRegion regions[MAX_REGIONS];
Spinlock regions_lock;

u32 slot_base(unsigned i) { return REGION_AREA + i * x86::PGDIR_SIZE; }

x86::pte_t* region_pte(u32 va) { return lookup_kernel_pte(va); }

} // namespace

FaultableRegion* region_create(u32 size, const char* name) {
    if (WARN("region.bad_size", size == 0 || size > x86::PGDIR_SIZE,
             "region_create(%u): between one page and 4 MiB", size))
        return nullptr;
    unsigned slot = MAX_REGIONS;
    {
        SpinlockGuard guard(regions_lock);
        for (unsigned i = 0; i < MAX_REGIONS; ++i) {
            if (!regions[i].used) {
                regions[i].used = true;
                slot = i;
                break;
            }
        }
    }
    if (slot == MAX_REGIONS)
        return nullptr;
    FaultableRegion& r = regions[slot];
    r.base = slot_base(slot);
    r.size = (size + PAGE_SIZE - 1) & PAGE_MASK;
    r.name = name;
    r.faults.store(0);
    r.sleep_in_fault.store(0);
    if (!kernel_pte_alloc(r.base)) {   // the page table, present from now on
        SpinlockGuard guard(regions_lock);
        r.used = false;
        return nullptr;
    }
    return &r;
}

void region_destroy(FaultableRegion* r) {
    if (!r)
        return;
    Page* to_free = nullptr;
    {
        SpinlockGuard guard(r->ptl);
        for (u32 va = r->base; va < r->base + r->size; va += PAGE_SIZE) {
            x86::pte_t* pte = region_pte(va);
            if (!(*pte & x86::PTE_PRESENT))
                continue;
            Page* page = pfn_to_page(Pfn(*pte >> PAGE_SHIFT));
            *pte = 0;
            page->private_data = reinterpret_cast<u32>(to_free);
            to_free = page;
        }
    }
    // Every CPU forgets the range before its pages can be reused.
    x86::flush_tlb_kernel_range(r->base, r->base + r->size);
    while (to_free) {
        Page* next = reinterpret_cast<Page*>(to_free->private_data);
        to_free->private_data = 0;
        free_page(to_free);
        to_free = next;
    }
    SpinlockGuard guard(regions_lock);
    r->used = false;
}

FaultableRegion* region_of(u32 va) {
    for (FaultableRegion& r : regions)
        if (r.used && va >= r.base && va - r.base < r.size)
            return &r;
    return nullptr;
}

bool region_page_present(const FaultableRegion& r, u32 va) {
    const x86::pte_t* pte = lookup_kernel_pte(va & PAGE_MASK);
    return pte && (*pte & x86::PTE_PRESENT) && va - r.base < r.size;
}

bool region_handle_fault(u32 va) {
    FaultableRegion* r = region_of(va);
    if (!r)
        return false;
    might_sleep();
    if (r->sleep_in_fault.load())
        sched::sleep_ticks(1);   // another task may fault (and set CR2) meanwhile
    Page* page = alloc_page(Gfp::HighUser);
    if (!page)
        return false;
    memzero_page(page, 0, PAGE_SIZE);   // never hand out old contents
    bool installed = false;
    {
        SpinlockGuard guard(r->ptl);
        x86::pte_t* pte = region_pte(va & PAGE_MASK);
        if (!(*pte & x86::PTE_PRESENT)) {   // someone else may have won the race
            *pte = static_cast<u32>(page_to_phys(page).value()) | REGION_PTE;
            installed = true;
        }
    }
    if (!installed)
        free_page(page);
    else
        r->faults.fetch_add(1);
    return true;
}

u32 copy_to_region(void* dst, const void* src, u32 n) {
    might_sleep();
    return x86::copy_with_fixup(dst, src, n);
}

u32 copy_from_region(void* dst, const void* src, u32 n) {
    might_sleep();
    return x86::copy_with_fixup(dst, src, n);
}

u32 copy_to_region_inatomic(void* dst, const void* src, u32 n) {
    sched::PagefaultGuard no_faults;
    return x86::copy_with_fixup(dst, src, n);
}

u32 copy_from_region_inatomic(void* dst, const void* src, u32 n) {
    sched::PagefaultGuard no_faults;
    return x86::copy_with_fixup(dst, src, n);
}

bool fault_in_region(void* va, u32 n) {
    u8 zero = 0;
    const u32 start = reinterpret_cast<u32>(va);
    for (u32 p = start & PAGE_MASK; p < start + n; p += PAGE_SIZE) {
        // A read that faults the page in (copy to ourselves: no change).
        if (copy_from_region(&zero, reinterpret_cast<void*>(p < start ? start : p), 1) != 0)
            return false;
    }
    return true;
}

} // namespace mm
