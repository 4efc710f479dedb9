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

extern "C" x86::Pde early_page_directory[];
extern "C" char boot_stack_guard[];
extern "C" char __boot_start[];
extern "C" char __kernel_start[];
extern "C" char __text_start[];
extern "C" char __text_end[];
extern "C" char __rodata_end[];
extern "C" char __ksymtab_section[];
extern "C" char __ksymtab_end[];

namespace mm {

alignas(PAGE_SIZE) x86::Pde swapper_pg_dir[x86::PTRS_PER_PD];

namespace {
// What CR3 points at above swapper_pg_dir (the PAE method's PDPT).
x86::PagingRoot swapper_root;
bool global_pages = false;
bool nx_pages = false;
alignas(PAGE_SIZE) x86::Pte pkmap_ptes[x86::PTRS_PER_PTE];

// A kernel page table's PDE allows everything; its PTEs decide.
constexpr x86::PteFlags TABLE_FLAGS = x86::PTE_PRESENT | x86::PTE_WRITE;

// The physical address of kernel memory at PAGE_OFFSET + physical (the
// image, the direct map). Unchecked: it also serves before mm knows where
// lowmem ends.
PhysAddr kernel_phys(const void* p) { return PhysAddr(reinterpret_cast<u32>(p) - PAGE_OFFSET); }

// The page table a present PDE points at, through the direct map.
x86::Pte* table_of(x86::Pde pde) {
    return reinterpret_cast<x86::Pte*>(static_cast<u32>(pde.pfn().phys().value()) + PAGE_OFFSET);
}

enum class Exec : bool { No, Yes };

// Make [start, end) read-only in the direct map; code also executable (it
// was mapped execute-disable with the rest of lowmem, where the CPU has NX).
void protect_readonly(VirtAddr start, VirtAddr end, Exec exec) {
    for (VirtAddr va = start.page_down(); va < end; va += PAGE_SIZE) {
        if (x86::Pte* pte = lookup_kernel_pte(va)) {
            const x86::Pte ro = x86::read_pte(pte).without(x86::PTE_WRITE);
            x86::set_pte(pte, exec == Exec::Yes ? ro.without(x86::PTE_NX) : ro);
        }
    }
}

// Page tables are allocated while only the early 16 MiB map exists, so they
// must come from there (the direct map then covers them too). One block for
// all of them, in ascending address order.
x86::Pte* alloc_page_tables_early(u32 count, const char* what) {
    const PhysAddr pa = memblock::alloc(u64{count} * PAGE_SIZE, PAGE_SIZE,
                                        PhysAddr(x86::EARLY_MAP_BYTES), what);
    auto* pt = reinterpret_cast<x86::Pte*>(static_cast<u32>(pa.value()) + PAGE_OFFSET);
    lib::memset(pt, 0, count * PAGE_SIZE);
    return pt;
}

} // namespace

x86::PteFlags kernel_pte_flags() {
    x86::PteFlags flags = x86::PTE_PRESENT | x86::PTE_WRITE;
    if (global_pages)
        flags = flags | x86::PTE_GLOBAL;
    return nx_pages ? flags | x86::PTE_NX : flags;
}

x86::Pde kernel_table_pde(const x86::Pte* table) {
    return x86::Pde::make(Pfn::down(kernel_phys(table)), TABLE_FLAGS);
}

x86::Pte* lookup_kernel_pte(VirtAddr va) {
    const x86::Pde pde = x86::read_pde(&swapper_pg_dir[x86::pde_index(va)]);
    if (!pde.present() || pde.large())
        return nullptr;
    return &table_of(pde)[x86::pte_index(va)];
}

void pgtable_init() {
    global_pages = x86::cpu_features().pge;
    if (global_pages)
        x86::write_cr4(x86::read_cr4() | x86::CR4_PGE);
    // Before the first entry with NX in it: without EFER.NXE that bit is
    // reserved. The early tables have none.
    nx_pages = x86::nx_enable();

    // Keep the boot identity map (PDEs below PAGE_OFFSET) for now.
    const u32 user_pdes = x86::pde_index(VirtAddr(PAGE_OFFSET));
    for (u32 i = 0; i < user_pdes; ++i)
        x86::set_pde(&swapper_pg_dir[i], x86::read_pde(&early_page_directory[i]));

    const u32 lowmem_bytes = max_low_pfn.phys().value();
    const x86::PteFlags flags = kernel_pte_flags();
    const u32 tables = (lowmem_bytes + x86::PMD_SIZE - 1) / x86::PMD_SIZE;
    x86::Pte* next_table = alloc_page_tables_early(tables, "page tables (direct map)");
    for (u32 offset = 0; offset < lowmem_bytes; offset += x86::PMD_SIZE) {
        x86::Pte* pt = next_table;
        next_table += x86::PTRS_PER_PTE;
        const Pfn first = Pfn::down(PhysAddr(offset));
        const u32 span = min(x86::PMD_SIZE, lowmem_bytes - offset);
        for (u32 i = 0; i < span / PAGE_SIZE; ++i)
            x86::set_pte(&pt[i], x86::Pte::make(first + i, flags));
        x86::set_pde(&swapper_pg_dir[x86::pde_index(VirtAddr(PAGE_OFFSET + offset))],
                     kernel_table_pde(pt));
    }
    // The boot stack's guard page stays unmapped (double_fault.h), and so does
    // the direct-map alias of page 0.
    x86::pte_clear(lookup_kernel_pte(VirtAddr(boot_stack_guard)));
    x86::pte_clear(lookup_kernel_pte(VirtAddr(PAGE_OFFSET)));

    // Code and constants are read-only: the entry section (linked low, mapped
    // here at PAGE_OFFSET + 1 MiB), .text, .rodata and the symbol table. Code
    // alone is executable: everything else in lowmem is data (NX where the
    // CPU has it).
    protect_readonly(VirtAddr(__boot_start) + PAGE_OFFSET, VirtAddr(__kernel_start), Exec::Yes);
    protect_readonly(VirtAddr(__text_start), VirtAddr(__text_end), Exec::Yes);
    protect_readonly(VirtAddr(__text_end), VirtAddr(__rodata_end), Exec::No);
    protect_readonly(VirtAddr(__ksymtab_section), VirtAddr(__ksymtab_end), Exec::No);

    fixmap_install(swapper_pg_dir);
    x86::set_pde(&swapper_pg_dir[x86::pde_index(VirtAddr(PKMAP_BASE))],
                 kernel_table_pde(pkmap_ptes));

    const u32 cr3 = x86::paging_root_init(swapper_root, kernel_phys(&swapper_root),
                                          kernel_phys(swapper_pg_dir));
    x86::double_fault_set_cr3(cr3);
    x86::write_cr3(cr3);
    x86::flush_tlb_local_all();
    printk("mm: %s paging; direct map of %u MiB of lowmem at %#x with 4 KiB pages%s; text and "
           "rodata read-only%s\n", x86::PAGING_MODE, lowmem_bytes >> 20, PAGE_OFFSET,
           global_pages ? ", global (PGE)" : "",
           nx_pages ? ", data execute-disable (NX)" : "");
}

void pgtable_remove_identity_map() {
    for (u32 i = 0; i < x86::pde_index(VirtAddr(PAGE_OFFSET)); ++i)
        x86::pde_clear(&swapper_pg_dir[i]);
    x86::flush_tlb_all();
    printk("mm: boot identity map removed\n");
}

bool map_low_identity_page(PhysAddr page) {
    const VirtAddr va(static_cast<u32>(page.value()));
    x86::Pde* pde = &swapper_pg_dir[x86::pde_index(va)];
    BUG_ON(va.value() >= PAGE_OFFSET || x86::read_pde(pde).present());
    Page* table = alloc_page(Gfp::Kernel);
    if (!table)
        return false;
    auto* pt = static_cast<x86::Pte*>(page_address(table));
    lib::memset(pt, 0, PAGE_SIZE);
    x86::set_pte(&pt[x86::pte_index(va)],
                 x86::Pte::make(Pfn::down(page), x86::PTE_PRESENT | x86::PTE_WRITE));
    x86::set_pde(pde, kernel_table_pde(pt));
    return true;
}

void unmap_low_identity_page(PhysAddr page) {
    x86::Pde* pde = &swapper_pg_dir[x86::pde_index(VirtAddr(static_cast<u32>(page.value())))];
    const x86::Pde old = x86::read_pde(pde);
    if (!old.present())
        return;
    x86::pde_clear(pde);
    // Every CPU that ran through the trampoline may cache the translation.
    x86::flush_tlb_all();
    free_page(pfn_to_page(old.pfn()));
}

x86::Pte* kernel_pte_alloc(VirtAddr va) {
    x86::Pde* pde = &swapper_pg_dir[x86::pde_index(va)];
    if (!x86::read_pde(pde).present()) {
        Page* page = alloc_page(Gfp::Kernel);
        if (!page)
            return nullptr;
        auto* table = static_cast<x86::Pte*>(page_address(page));
        lib::memset(table, 0, PAGE_SIZE);
        // A not-present PDE is never cached, so no flush: every CPU shares
        // swapper_pg_dir and sees the new table on its next walk.
        x86::set_pde(pde, kernel_table_pde(table));
    }
    return lookup_kernel_pte(va);
}

x86::Pte* pkmap_page_table() { return pkmap_ptes; }

} // namespace mm
