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

extern x86::Pde swapper_pg_dir[x86::PTRS_PER_PD];

// PTE flags for kernel data: present, writable, global when available.
x86::PteFlags kernel_pte_flags();

// The PDE that points at `table`, a kernel page table (in the image or the
// direct map, so lowmem).
x86::Pde kernel_table_pde(const x86::Pte* table);

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
x86::Pte* lookup_kernel_pte(VirtAddr va);

// The PTE of a kernel address, allocating the page table (from the buddy
// allocator, lowmem) if none covers it yet; null when out of memory. For
// vmalloc: the caller serializes. Page tables are never freed.
x86::Pte* kernel_pte_alloc(VirtAddr va);

// The pkmap pool's page table (allocated at boot, spec L5).
x86::Pte* pkmap_page_table();

} // namespace mm
