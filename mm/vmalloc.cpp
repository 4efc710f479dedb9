#include "mm/vmalloc.h"

#include "sched/task.h"

#include "arch/x86/tlb.h"
#include "lib/bitmap.h"
#include "lib/bug.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "mm/buddy.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/pgtable.h"

namespace mm {

u32 VMALLOC_START = 0;

namespace {

constexpr u32 MAX_WINDOW_PAGES = (0xffffffffu - PAGE_OFFSET) / PAGE_SIZE;   // upper bound
constexpr u32 MAX_AREAS = 512;

struct Area {
    u32 first_page;   // index into the window
    u32 pages;        // mapped pages; the guard page follows
    const char* owner;
};

Spinlock lock;
u32 window_pages = 0;
// Pages of the window in use by an area or its guard.
u32 bitmap_words[BitmapView::words_for(MAX_WINDOW_PAGES)];
BitmapView used(bitmap_words, 0);
Area areas[MAX_AREAS];
u32 used_pages = 0;

u32 page_va(u32 index) { return VMALLOC_START + index * PAGE_SIZE; }

Area* find_area(u32 va, bool include_guard) {
    if (va < VMALLOC_START || va >= VMALLOC_END)
        return nullptr;
    const u32 index = (va - VMALLOC_START) / PAGE_SIZE;
    for (Area& a : areas)
        if (a.pages && index >= a.first_page && index < a.first_page + a.pages + (include_guard ? 1 : 0))
            return &a;
    return nullptr;
}

// Clear an area's PTEs, make every CPU forget them, and only then free the
// pages: until the shootdown is done another CPU may still reach them.
// Called without the lock (the shootdown needs interrupts on); the caller
// keeps the range reserved in the bitmap until this returns.
void unmap_and_free(u32 first_page, u32 mapped) {
    Page* pages_to_free = nullptr;
    for (u32 i = 0; i < mapped; ++i) {
        x86::Pte* pte = lookup_kernel_pte(VirtAddr(page_va(first_page + i)));
        Page* page = pfn_to_page(x86::read_pte(pte).pfn());
        x86::pte_clear(pte);
        page->private_data = reinterpret_cast<u32>(pages_to_free);
        pages_to_free = page;
    }
    if (mapped)
        x86::flush_tlb_kernel_range(page_va(first_page), page_va(first_page + mapped));
    while (pages_to_free) {
        Page* next = reinterpret_cast<Page*>(pages_to_free->private_data);
        pages_to_free->private_data = 0;
        free_page(pages_to_free);
        pages_to_free = next;
    }
}

} // namespace

void vmalloc_init() {
    VMALLOC_START = (static_cast<u32>(max_low_pfn.phys().value()) + PAGE_OFFSET + VMALLOC_OFFSET);
    window_pages = (VMALLOC_END - VMALLOC_START) / PAGE_SIZE;
    used = BitmapView(bitmap_words, window_pages);
    printk("mm: vmalloc [%#x-%#x) %u MiB\n", VMALLOC_START, VMALLOC_END,
           (VMALLOC_END - VMALLOC_START) >> 20);
    // Task stacks: the unmapped page below every area is the stack's guard.
    static constexpr sched::StackAllocator stacks{vmalloc, vfree, PAGE_SIZE};
    sched::set_stack_allocator(stacks);
}

void* vmalloc(u32 bytes, const char* owner) {
    if (bytes == 0)
        return nullptr;
    const u32 pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
    SpinlockGuard guard(lock);
    Area* slot = nullptr;
    for (Area& a : areas) {
        if (!a.pages) {
            slot = &a;
            break;
        }
    }
    if (WARN_ONCE("vmalloc.too_many_areas", !slot, "vmalloc: all %u area slots in use", MAX_AREAS))
        return nullptr;
    const size_t first = used.find_clear_run(pages + 1);
    if (first == BitmapView::NOT_FOUND)
        return nullptr;
    *slot = {static_cast<u32>(first), pages, owner};
    used.set_range(first, pages + 1);
    for (u32 i = 0; i < pages; ++i) {
        Page* page = alloc_page(Gfp::HighUser);
        x86::Pte* pte = page ? kernel_pte_alloc(VirtAddr(page_va(slot->first_page + i))) : nullptr;
        if (!pte) {
            if (page)
                free_page(page);
            // Nothing of this area was ever handed out, so no CPU can hold
            // its translations: clear and free without a shootdown.
            for (u32 k = 0; k < i; ++k) {
                x86::Pte* p = lookup_kernel_pte(VirtAddr(page_va(slot->first_page + k)));
                free_page(pfn_to_page(x86::read_pte(p).pfn()));
                x86::pte_clear(p);
            }
            used.clear_range(first, pages + 1);
            slot->pages = 0;
            return nullptr;
        }
        x86::set_pte(pte, x86::Pte::make(page_to_pfn(page), kernel_pte_flags()));
    }
    used_pages += pages;
    return reinterpret_cast<void*>(page_va(slot->first_page));
}

void vfree(void* addr) {
    if (!addr)
        return;
    const u32 va = reinterpret_cast<u32>(addr);
    u32 first_page, pages;
    {
        SpinlockGuard guard(lock);
        Area* a = find_area(va, false);
        if (WARN("vmalloc.bad_free", !a || page_va(a->first_page) != va,
                 "vfree(%p): not the start of a vmalloc area", addr))
            return;
        first_page = a->first_page;
        pages = a->pages;
        a->pages = 0;   // the area is gone; its range stays reserved until flushed
        used_pages -= pages;
    }
    unmap_and_free(first_page, pages);
    SpinlockGuard guard(lock);
    used.clear_range(first_page, pages + 1);
}

bool vmalloc_area_of(u32 va, VmAreaInfo* info) {
    // Called from the page-fault report: no lock (the reporting CPU may have
    // been holding it); a racing change can only make the answer stale.
    const Area* a = find_area(va, true);
    if (!a)
        return false;
    info->start = page_va(a->first_page);
    info->end = page_va(a->first_page + a->pages);
    info->owner = a->owner;
    info->in_guard = va >= info->end;
    return true;
}

u32 vmalloc_used_pages() { return used_pages; }

} // namespace mm
