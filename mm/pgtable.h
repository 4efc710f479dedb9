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

// Build the direct map of [0, max_low_pfn) with page tables from memblock,
// switch CR3 to swapper_pg_dir and enable CR4.PGE when the CPU has it. The
// boot identity map of the first 16 MiB is kept (SMP bring-up needs the low
// megabyte; the paging issue trims it).
void pgtable_init();

// The PTE of a kernel address, or null when no page table covers it.
x86::pte_t* lookup_kernel_pte(u32 va);

} // namespace mm
