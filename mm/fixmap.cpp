#include "mm/fixmap.h"

#include "arch/x86/tlb.h"
#include "lib/bug.h"
#include "lib/spinlock.h"
#include "mm/layout.h"
#include "mm/pgtable.h"

namespace mm {
namespace {

// The page tables in one array, in address order (with 2-level paging, PDE
// 1022's table, then PDE 1023's; with PAE, PDEs 2045 to 2047's).
alignas(PAGE_SIZE) x86::Pte fixmap_ptes[FIXMAP_PAGE_TABLES * x86::PTRS_PER_PTE];

u32 pte_slot(u32 va) { return (va - FIXMAP_PT_BASE) >> PAGE_SHIFT; }

Spinlock btmap_lock;
bool btmap_used[FIX_BTMAPS_SLOTS];

} // namespace

u32 virt_to_fix(u32 va) {
    if (va < FIXADDR_TOT_START || va > FIXADDR_TOP)
        BUG("fixmap.virt_to_fix", "virt_to_fix(%#x): outside the fixmap", va);
    return (FIXADDR_TOP - (va & PAGE_MASK)) >> PAGE_SHIFT;
}

x86::Pte* fixmap_pte(u32 idx) {
    BUG_ON(idx >= END_OF_FIXED_ADDRESSES);
    return &fixmap_ptes[pte_slot(fix_to_virt(idx))];
}

x86::Pte* kmap_pte_base() { return fixmap_pte(FIX_KMAP_BEGIN); }

void set_fixmap(u32 idx, PhysAddr phys, x86::PteFlags flags) {
    BUG_ON(idx == FIX_HOLE);
    x86::set_pte(fixmap_pte(idx), x86::Pte::make(Pfn::down(phys), flags));
    x86::local_invlpg(fix_to_virt(idx));
}

void clear_fixmap(u32 idx) {
    x86::pte_clear(fixmap_pte(idx));
    x86::local_invlpg(fix_to_virt(idx));
}

void fixmap_install(x86::Pde* pgd) {
    for (u32 t = 0; t < FIXMAP_PAGE_TABLES; ++t) {
        const VirtAddr va(FIXMAP_PT_BASE + t * x86::PMD_SIZE);
        const x86::Pte* table = &fixmap_ptes[t * x86::PTRS_PER_PTE];
        x86::set_pde(&pgd[x86::pde_index(va)], kernel_table_pde(table));
    }
}

void* early_ioremap(PhysAddr phys, u32 size) {
    const u32 offset = static_cast<u32>(phys.value() & (PAGE_SIZE - 1));
    const u32 pages = (offset + size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    if (WARN("fixmap.early_ioremap_size", size == 0 || pages > NR_FIX_BTMAPS,
             "early_ioremap(%#llx, %u): at most %u pages", static_cast<unsigned long long>(phys.value()),
             size, NR_FIX_BTMAPS))
        return nullptr;
    unsigned slot = FIX_BTMAPS_SLOTS;
    {
        SpinlockIrqsaveGuard guard(btmap_lock);
        for (unsigned s = 0; s < FIX_BTMAPS_SLOTS; ++s) {
            if (!btmap_used[s]) {
                btmap_used[s] = true;
                slot = s;
                break;
            }
        }
    }
    if (WARN("fixmap.early_ioremap_full", slot == FIX_BTMAPS_SLOTS,
             "early_ioremap: all %u slots in use", FIX_BTMAPS_SLOTS))
        return nullptr;
    // Slot s covers indices BEGIN - s*N down to BEGIN - s*N - (N-1): the
    // mapping's pages go up in address as the index goes down.
    const u32 first = FIX_BTMAP_BEGIN - slot * NR_FIX_BTMAPS;
    const PhysAddr base = phys.page_down();
    for (u32 i = 0; i < pages; ++i)
        set_fixmap(first - i, base + u64{i} * PAGE_SIZE, x86::PTE_PRESENT | x86::PTE_WRITE);
    return reinterpret_cast<void*>(fix_to_virt(first) + offset);
}

void early_iounmap(void* addr, u32 size) {
    const u32 va = reinterpret_cast<u32>(addr);
    const u32 idx = virt_to_fix(va);
    if (WARN("fixmap.early_iounmap_bad", idx < FIX_BTMAP_END || idx > FIX_BTMAP_BEGIN,
             "early_iounmap(%p): not an early-ioremap address", addr))
        return;
    const unsigned slot = (FIX_BTMAP_BEGIN - idx) / NR_FIX_BTMAPS;
    const u32 first = FIX_BTMAP_BEGIN - slot * NR_FIX_BTMAPS;
    const u32 pages = ((va & (PAGE_SIZE - 1)) + size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    for (u32 i = 0; i < pages && i < NR_FIX_BTMAPS; ++i)
        clear_fixmap(first - i);
    SpinlockIrqsaveGuard guard(btmap_lock);
    btmap_used[slot] = false;
}

} // namespace mm
