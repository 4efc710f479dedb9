// The kernel page tables: one page directory (swapper_pg_dir) shared by
// every CPU, the lowmem direct map at PAGE_OFFSET with 4 KiB pages, and
// walkers for kernel addresses.
//
// 4 KiB pages, not 4 MiB ones: under TCG one large page near the kernel
// makes every invlpg flush QEMU's whole software TLB, which would hide
// missing-flush bugs (design.md, deviations). Kernel mappings are global when
// the CPU has PGE.
#pragma once

#include "arch/x86/paging.h"
#include "mm/types.h"

namespace mm {

extern x86::pde_t swapper_pg_dir[x86::PTRS_PER_PGD];

// PTE flags for kernel data: present, writable, global when available.
x86::pte_t kernel_pte_flags();

[[noreturn, gnu::cold]] void pte_frame_unmappable(Pfn pfn);

// The PTE value that maps frame `pfn` with `flags`. A frame this paging mode
// cannot address BUGs (mm.pte_frame_unmappable) instead of being truncated to
// another frame: a 2-level PTE keeps only 20 bits of frame number.
inline x86::pte_t mk_pte(Pfn pfn, x86::pte_t flags) {
    if (unlikely(pfn.value() >= x86::PTE_PFN_LIMIT))
        pte_frame_unmappable(pfn);
    return (pfn.value() << PAGE_SHIFT) | flags;
}

// The frame a PTE maps.
constexpr Pfn pte_pfn(x86::pte_t pte) { return Pfn(pte >> PAGE_SHIFT); }

// Build swapper_pg_dir: the direct map of [0, max_low_pfn) with page tables
// from memblock, kernel text and rodata read-only, the direct-map alias of
// page 0 unmapped, the fixmap and pkmap page tables; then switch CR3 to it
// and enable CR4.PGE when the CPU has it. The boot identity map is still
// there afterwards: pgtable_remove_identity_map() ends it.
void pgtable_init();

// Remove the boot identity map (every PDE below PAGE_OFFSET): from now on a
// low address, NULL included, faults. SMP bring-up maps its trampoline page
// on its own while the APs start (docs/memory.md).
void pgtable_remove_identity_map();

// SMP bring-up: map one low page at its own physical address (the AP
// trampoline) and remove that mapping again. The removal flushes every CPU.
bool map_low_identity_page(PhysAddr page);
void unmap_low_identity_page(PhysAddr page);

// The PTE of a kernel address, or null when no page table covers it.
x86::pte_t* lookup_kernel_pte(u32 va);

// The PTE of a kernel address, allocating the page table (from the buddy
// allocator, lowmem) if none covers it yet; null when out of memory. For
// vmalloc: the caller serializes. Page tables are never freed.
x86::pte_t* kernel_pte_alloc(u32 va);

// The pkmap pool's page table (allocated at boot, spec L5).
x86::pte_t* pkmap_page_table();

} // namespace mm
