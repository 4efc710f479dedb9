#include "mm/pgtable.h"

#include "arch/x86/cpuid.h"
#include "arch/x86/double_fault.h"
#include "arch/x86/layout.h"
#include "lib/bug.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "arch/x86/tlb.h"
#include "mm/buddy.h"
#include "mm/fixmap.h"
#include "mm/memblock.h"
#include "mm/page.h"

extern "C" x86::pde_t early_page_directory[];
extern "C" char boot_stack_guard[];
extern "C" char __boot_start[];
extern "C" char __kernel_start[];
extern "C" char __text_start[];
extern "C" char __rodata_end[];
extern "C" char __ksymtab_section[];
extern "C" char __ksymtab_end[];

namespace mm {

alignas(PAGE_SIZE) x86::pde_t swapper_pg_dir[x86::PTRS_PER_PGD];

namespace {
bool global_pages = false;
alignas(PAGE_SIZE) x86::pte_t pkmap_ptes[x86::PTRS_PER_PTE];

// Make [start, end) read-only in the direct map.
void protect_readonly(u32 start, u32 end) {
    for (u32 va = start & PAGE_MASK; va < end; va += PAGE_SIZE) {
        x86::pte_t* pte = lookup_kernel_pte(va);
        if (pte)
            x86::set_pte(pte, x86::read_pte(pte) & ~x86::PTE_WRITE);
    }
}

// Page tables are allocated while only the early 16 MiB map exists, so they
// must come from there (the direct map then covers them too). One block for
// all of them, in ascending address order.
x86::pte_t* alloc_page_tables_early(u32 count, const char* what) {
    const PhysAddr pa = memblock::alloc(u64{count} * PAGE_SIZE, PAGE_SIZE,
                                        PhysAddr(x86::EARLY_MAP_BYTES), what);
    auto* pt = reinterpret_cast<x86::pte_t*>(static_cast<u32>(pa.value()) + PAGE_OFFSET);
    lib::memset(pt, 0, count * PAGE_SIZE);
    return pt;
}

u32 table_phys(const x86::pte_t* pt) { return reinterpret_cast<u32>(pt) - PAGE_OFFSET; }

} // namespace

x86::pte_t kernel_pte_flags() {
    return x86::PTE_PRESENT | x86::PTE_WRITE | (global_pages ? x86::PTE_GLOBAL : 0);
}

void pte_frame_unmappable(Pfn pfn) {
    BUG("mm.pte_frame_unmappable",
        "pfn %#x (physical %#llx) is beyond what a 2-level PTE can map (below 4 GiB); "
        "mapping it would map pfn %#x instead", pfn.value(),
        static_cast<unsigned long long>(pfn.phys().value()), pfn.value() & (x86::PTE_PFN_LIMIT - 1));
}

x86::pte_t* lookup_kernel_pte(u32 va) {
    const x86::pde_t pde = swapper_pg_dir[x86::pgd_index(va)];
    if (!(pde & x86::PTE_PRESENT) || (pde & x86::PTE_PSE))
        return nullptr;
    auto* pt = reinterpret_cast<x86::pte_t*>((pde & x86::PTE_FRAME) + PAGE_OFFSET);
    return &pt[x86::pte_index(va)];
}

void pgtable_init() {
    global_pages = x86::cpu_features().pge;
    if (global_pages)
        x86::write_cr4(x86::read_cr4() | x86::CR4_PGE);

    // Keep the boot identity map (PDEs below PAGE_OFFSET) for now.
    for (u32 i = 0; i < x86::pgd_index(PAGE_OFFSET); ++i)
        swapper_pg_dir[i] = early_page_directory[i];

    const u32 lowmem_bytes = max_low_pfn.phys().value();
    const x86::pte_t flags = kernel_pte_flags();
    const u32 tables = (lowmem_bytes + x86::PGDIR_SIZE - 1) / x86::PGDIR_SIZE;
    x86::pte_t* next_table = alloc_page_tables_early(tables, "page tables (direct map)");
    for (u32 offset = 0; offset < lowmem_bytes; offset += x86::PGDIR_SIZE) {
        x86::pte_t* pt = next_table;
        next_table += x86::PTRS_PER_PTE;
        const u32 span = min(x86::PGDIR_SIZE, lowmem_bytes - offset);
        // A table no walker can reach yet: plain stores.
        for (u32 i = 0; i < span / PAGE_SIZE; ++i)
            pt[i] = (offset + i * PAGE_SIZE) | flags;
        x86::set_pte(&swapper_pg_dir[x86::pgd_index(PAGE_OFFSET + offset)],
                     table_phys(pt) | x86::PTE_PRESENT | x86::PTE_WRITE);
    }
    // The boot stack's guard page stays unmapped (double_fault.h), and so does
    // the direct-map alias of page 0.
    x86::pte_clear(lookup_kernel_pte(reinterpret_cast<u32>(boot_stack_guard)));
    x86::pte_clear(lookup_kernel_pte(PAGE_OFFSET));

    // Code and constants are read-only: the entry section (linked low, mapped
    // here at PAGE_OFFSET + 1 MiB), .text, .rodata and the symbol table.
    protect_readonly(reinterpret_cast<u32>(__boot_start) + PAGE_OFFSET,
                     reinterpret_cast<u32>(__kernel_start));
    protect_readonly(reinterpret_cast<u32>(__text_start), reinterpret_cast<u32>(__rodata_end));
    protect_readonly(reinterpret_cast<u32>(__ksymtab_section), reinterpret_cast<u32>(__ksymtab_end));

    fixmap_install(swapper_pg_dir);
    x86::set_pte(&swapper_pg_dir[x86::pgd_index(PKMAP_BASE)],
                 (reinterpret_cast<u32>(pkmap_ptes) - PAGE_OFFSET) | x86::PTE_PRESENT | x86::PTE_WRITE);

    const u32 pgd_phys = reinterpret_cast<u32>(swapper_pg_dir) - PAGE_OFFSET;
    x86::double_fault_set_cr3(pgd_phys);
    x86::write_cr3(pgd_phys);
    x86::flush_tlb_local_all();
    printk("mm: direct map of %u MiB of lowmem at %#x with 4 KiB pages%s; text and rodata "
           "read-only\n", lowmem_bytes >> 20, PAGE_OFFSET, global_pages ? ", global (PGE)" : "");
}

void pgtable_remove_identity_map() {
    for (u32 i = 0; i < x86::pgd_index(PAGE_OFFSET); ++i)
        x86::pte_clear(&swapper_pg_dir[i]);
    x86::flush_tlb_all();
    printk("mm: boot identity map removed\n");
}

bool map_low_identity_page(PhysAddr page) {
    const u32 va = static_cast<u32>(page.value());
    BUG_ON(va >= PAGE_OFFSET || (swapper_pg_dir[x86::pgd_index(va)] & x86::PTE_PRESENT));
    Page* table = alloc_page(Gfp::Kernel);
    if (!table)
        return false;
    auto* pt = static_cast<x86::pte_t*>(page_address(table));
    lib::memset(pt, 0, PAGE_SIZE);
    pt[x86::pte_index(va)] = va | x86::PTE_PRESENT | x86::PTE_WRITE;   // not reachable yet
    x86::set_pte(&swapper_pg_dir[x86::pgd_index(va)],
                 mk_pte(page_to_pfn(table), x86::PTE_PRESENT | x86::PTE_WRITE));
    return true;
}

void unmap_low_identity_page(PhysAddr page) {
    const u32 va = static_cast<u32>(page.value());
    x86::pde_t& pde = swapper_pg_dir[x86::pgd_index(va)];
    if (!(pde & x86::PTE_PRESENT))
        return;
    Page* table = pfn_to_page(pte_pfn(pde));
    x86::pte_clear(&pde);
    // Every CPU that ran through the trampoline may cache the translation.
    x86::flush_tlb_all();
    free_page(table);
}

x86::pte_t* kernel_pte_alloc(u32 va) {
    x86::pde_t& pde = swapper_pg_dir[x86::pgd_index(va)];
    if (!(pde & x86::PTE_PRESENT)) {
        Page* page = alloc_page(Gfp::Kernel);
        if (!page)
            return nullptr;
        lib::memset(page_address(page), 0, PAGE_SIZE);
        // A not-present PDE is never cached, so no flush: every CPU shares
        // swapper_pg_dir and sees the new table on its next walk.
        x86::set_pte(&pde, mk_pte(page_to_pfn(page), x86::PTE_PRESENT | x86::PTE_WRITE));
    }
    return lookup_kernel_pte(va);
}

x86::pte_t* pkmap_page_table() { return pkmap_ptes; }

} // namespace mm
