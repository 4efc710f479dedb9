#include "mm/faultable.h"

#include "arch/x86/nofault.h"
#include "arch/x86/paging.h"
#include "arch/x86/tlb.h"
#include "lib/bug.h"
#include "lib/inject.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/faultable_testing.h"
#include "mm/kmap_audit.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/page_copy.h"
#include "mm/pgtable.h"
#include "mm/pks.h"
#include "sched/preempt.h"
#include "sched/sched.h"

namespace mm {

constinit const InjectPoint region_fault_may_sleep{"region.fault_may_sleep"};

namespace {

// Regions live at 1 GiB and up, one page table (PMD_SIZE: 4 MiB) each.
constexpr u32 REGION_AREA = 0x40000000;
constexpr unsigned MAX_REGIONS = 8;
constexpr x86::PteFlags REGION_PTE = x86::PTE_PRESENT | x86::PTE_WRITE;
constexpr x86::PteFlags REGION_PTE_RO = x86::PTE_PRESENT;

FaultableRegion regions[MAX_REGIONS];
Spinlock regions_lock;

u32 slot_base(unsigned i) { return REGION_AREA + i * x86::PMD_SIZE; }

x86::Pte* region_pte(u32 va) { return lookup_kernel_pte(VirtAddr(va)); }

Page* pte_page(x86::Pte pte) { return pfn_to_page(pte.pfn()); }

// Pages taken out of the page table, freed once every TLB forgot them. A
// keyed page (mm/pks.h) is not the region's to free: it stays its owner's.
class FreeList {
public:
    void add(Page* page) {
        if (pks_page_key(page))
            return;
        page->private_data = reinterpret_cast<u32>(m_head);
        m_head = page;
    }
    ~FreeList() {
        while (m_head) {
            Page* next = reinterpret_cast<Page*>(m_head->private_data);
            m_head->private_data = 0;
            free_page(m_head);
            m_head = next;
        }
    }

private:
    Page* m_head = nullptr;
};

enum class Effect : u8 { None, Upgraded, Invalidated };

// What replacing `old` by `now` (the same frame) does to a translation:
// an invalidation if it takes anything away, an upgrade if it only adds.
Effect change_of(x86::Pte old, x86::Pte now) {
    const bool lost = (old.present() && !now.present()) || (old.writable() && !now.writable());
    const bool gained = (!old.present() && now.present()) || (!old.writable() && now.writable());
    return lost ? Effect::Invalidated : gained ? Effect::Upgraded : Effect::None;
}

// Under the ptl, once the PTEs of [start, end) changed: an invalidation is
// flushed from every CPU first, then every secondary TLB hears of it.
void publish(FaultableRegion& r, u32 start, u32 end, Effect effect) {
    if (effect == Effect::Invalidated) {
        x86::flush_tlb_kernel_range(start, end);
        notify_secondary_tlbs(r, start, end, PteChange::Invalidate);
    } else if (effect == Effect::Upgraded) {
        notify_secondary_tlbs(r, start, end, PteChange::Upgrade);
    }
}

bool range_ok(const FaultableRegion* r, u32 va, u32 len) {
    return !WARN("region.bad_range",
                 !r || len == 0 || (va | len) & (PAGE_SIZE - 1) || va < r->base ||
                     va - r->base > r->size || len > r->size - (va - r->base),
                 "[%#x, +%#x) is not a page-aligned range of region %s", va, len,
                 r ? r->name : "(null)");
}

// start/end notifications around a change that may invalidate.
class [[nodiscard]] RangeBracket : Pinned {
public:
    RangeBracket(FaultableRegion& r, u32 start, u32 end) : m_r(r), m_start(start), m_end(end) {
        notify_range_start(r, start, end);
    }
    ~RangeBracket() { notify_range_end(m_r, m_start, m_end); }

private:
    FaultableRegion& m_r;
    u32 m_start;
    u32 m_end;
};

} // namespace

RegionPtl::RegionPtl(FaultableRegion& r) : m_region(r) {
    WARN("region.ptl_context", sched::in_interrupt() || !x86::irqs_enabled(),
         "region %s: page-table lock taken %s", r.name,
         sched::in_interrupt() ? "in an interrupt" : "with interrupts off");
    r.ptl.lock();
}

x86::Pte region_pte_value(const FaultableRegion&, u32 va) {
    return x86::read_pte(region_pte(va & PAGE_MASK));
}

FaultableRegion* region_create(u32 size, const char* name) {
    if (WARN("region.bad_size", size == 0 || size > x86::PMD_SIZE,
             "region_create(%u): between one page and %u MiB", size, x86::PMD_SIZE >> 20))
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
    if (!kernel_pte_alloc(VirtAddr(r.base))) {   // the page table, present from now on
        SpinlockGuard guard(regions_lock);
        r.used = false;
        return nullptr;
    }
    return &r;
}

void region_destroy(FaultableRegion* r) {
    if (!r)
        return;
    WARN("region.destroy_with_notifiers",
         !r->secondary_notifiers.empty() || !r->range_notifiers.empty(),
         "region %s destroyed with notifiers registered", r->name);
    region_unmap(r, r->base, r->size);
    while (SecondaryTlbNotifier* n = r->secondary_notifiers.pop_front())
        n->region = nullptr;
    while (SecondaryTlbNotifier* n = r->range_notifiers.pop_front())
        n->region = nullptr;
    SpinlockGuard guard(regions_lock);
    r->used = false;
}

bool region_unmap(FaultableRegion* r, u32 va, u32 len) {
    if (!range_ok(r, va, len))
        return false;
    might_sleep();
    RangeBracket bracket(*r, va, va + len);
    FreeList to_free;   // after the lock, when no TLB can reach them
    RegionPtl ptl(*r);
    Effect effect = Effect::None;
    for (u32 p = va; p < va + len; p += PAGE_SIZE) {
        x86::Pte* pte = region_pte(p);
        const x86::Pte old = x86::read_pte(pte);
        if (old.none())
            continue;   // (a keyed entry may be there and not present)
        to_free.add(pte_page(old));
        x86::pte_clear(pte);
        effect = Effect::Invalidated;
    }
    publish(*r, va, va + len, effect);
    return true;
}

bool region_protect(FaultableRegion* r, u32 va, u32 len, bool writable) {
    if (!range_ok(r, va, len))
        return false;
    might_sleep();
    RangeBracket bracket(*r, va, va + len);
    RegionPtl ptl(*r);
    Effect effect = Effect::None;
    for (u32 p = va; p < va + len; p += PAGE_SIZE) {
        x86::Pte* pte = region_pte(p);
        const x86::Pte old = x86::read_pte(pte);
        if (old.none())
            continue;
        // A keyed frame: change what is asked for; the global rights decide
        // what of it the entry gets.
        const unsigned key = pks_frame_key(old.pfn());
        const x86::Pte wanted = key ? pks_wanted(old) : old;
        if (wanted.writable() == writable)
            continue;
        const x86::Pte asked = writable ? wanted.with(x86::PTE_WRITE) : wanted.without(x86::PTE_WRITE);
        const x86::Pte now = key ? pks_protect(asked, key, pks_shared_rights()) : asked;
        x86::set_pte(pte, now);
        effect = max(effect, change_of(old, now));
    }
    publish(*r, va, va + len, effect);
    return true;
}

bool region_map_page(FaultableRegion* r, u32 va, Page* page, bool writable, Page** replaced) {
    *replaced = nullptr;
    if (!range_ok(r, va, PAGE_SIZE))
        return false;
    might_sleep();
    RangeBracket bracket(*r, va, va + PAGE_SIZE);
    RegionPtl ptl(*r);
    x86::Pte* pte = region_pte(va);
    const x86::Pte old = x86::read_pte(pte);
    if (!old.none())
        *replaced = pte_page(old);
    x86::Pte now = x86::Pte::make(page_to_pfn(page), writable ? REGION_PTE : REGION_PTE_RO);
    if (const unsigned key = pks_page_key(page))
        now = pks_protect(now, key, pks_shared_rights());
    x86::set_pte(pte, now);
    // Replacing a translation is an invalidation; filling a hole, an upgrade
    // (unless the key keeps the new one closed).
    publish(*r, va, va + PAGE_SIZE,
            old.present() ? Effect::Invalidated : now.present() ? Effect::Upgraded : Effect::None);
    return true;
}

void region_reprotect_key(unsigned key) {
    for (FaultableRegion& r : regions) {
        if (!read_once(r.used))
            continue;
        RegionPtl ptl(r);
        const u32 rights = pks_shared_rights();   // under the lock: see grant_globally
        u32 lo = ~0u, hi = 0;
        Effect effect = Effect::None;
        for (u32 p = r.base; p < r.base + r.size; p += PAGE_SIZE) {
            x86::Pte* pte = region_pte(p);
            const x86::Pte old = x86::read_pte(pte);
            if (old.none() || pks_frame_key(old.pfn()) != key)
                continue;
            const x86::Pte now = pks_protect(pks_wanted(old), key, rights);
            if (now == old)
                continue;
            x86::set_pte(pte, now);
            effect = max(effect, change_of(old, now));
            lo = min(lo, p);
            hi = p + PAGE_SIZE;
        }
        publish(r, lo, hi, effect);
    }
}

FaultableRegion* region_of(u32 va) {
    for (FaultableRegion& r : regions)
        if (r.used && va >= r.base && va - r.base < r.size)
            return &r;
    return nullptr;
}

bool region_page_present(const FaultableRegion& r, u32 va) {
    const x86::Pte* pte = lookup_kernel_pte(VirtAddr(va).page_down());
    return pte && x86::read_pte(pte).present() && va - r.base < r.size;
}

bool region_handle_fault(u32 va) {
    FaultableRegion* r = region_of(va);
    if (!r)
        return false;
    might_sleep();
    // A test sleeps here: another task may fault (and set CR2) meanwhile.
    inject_point(region_fault_may_sleep);
    Page* page = alloc_page(Gfp::HighUser);
    if (!page)
        return false;
    memzero_page(page, 0, PAGE_SIZE);   // never hand out old contents
    bool installed = false;
    {
        RegionPtl ptl(*r);
        const u32 page_va = va & PAGE_MASK;
        x86::Pte* pte = region_pte(page_va);
        if (!x86::read_pte(pte).present()) {   // someone else may have won the race
            x86::set_pte(pte, x86::Pte::make(page_to_pfn(page), REGION_PTE));
            installed = true;
            publish(*r, page_va, page_va + PAGE_SIZE, Effect::Upgraded);
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
    if (HIMEM_DEBUG)
        kmap_audit_inatomic_copy();
    sched::PagefaultGuard no_faults;
    return x86::copy_with_fixup(dst, src, n);
}

u32 copy_from_region_inatomic(void* dst, const void* src, u32 n) {
    if (HIMEM_DEBUG)
        kmap_audit_inatomic_copy();
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
