// The fixmap: compile-time virtual addresses at the top of the address
// space (layout in fixmap_layout.h), and early ioremap on top of it.
//
// The fixmap's page tables are static (in .bss) and installed at the very
// start of boot, so set_fixmap() works before any allocator exists and never
// allocates. They are one array covering [FIXMAP_PT_BASE, 4 GiB), lower
// addresses first, so the kmap_local slot PTEs form one linear array: the PTE
// of kmap slot i is kmap_pte_base() - i, across the page-table boundary too
// (spec L4).
//
// Context: set_fixmap/clear_fixmap change this CPU's view only (a local
// invlpg). That is right for per-CPU slots (kmap_local) and for boot.
#pragma once

#include "arch/x86/paging.h"
#include "mm/fixmap_layout.h"
#include "mm/types.h"

namespace mm {

// The page tables cover from here up to 4 GiB: every table the fixmap
// touches (0xff800000 and two tables with 2-level paging, 0xffa00000 and
// three with PAE).
constexpr u32 FIXMAP_PT_BASE = FIXADDR_TOT_START & ~(x86::PMD_SIZE - 1);
constexpr u32 FIXMAP_PAGE_TABLES = static_cast<u32>((1ull << 32) - FIXMAP_PT_BASE) / x86::PMD_SIZE;
static_assert(FIXMAP_PT_BASE % x86::PMD_SIZE == 0, "the fixmap's tables start at a table boundary");
static_assert(FIXADDR_TOT_START >= FIXMAP_PT_BASE, "the fixmap must fit its static page tables");

constexpr u32 fix_to_virt(u32 idx) { return FIXADDR_TOP - (idx << PAGE_SHIFT); }
// BUGs for an address outside [FIXADDR_TOT_START, FIXADDR_TOP].
u32 virt_to_fix(u32 va);

// The PTE of fixmap index idx (never null).
x86::Pte* fixmap_pte(u32 idx);
// The PTE of kmap_local slot 0 (FIX_KMAP_BEGIN); slot i's PTE is this minus i.
x86::Pte* kmap_pte_base();

void set_fixmap(u32 idx, PhysAddr phys, x86::PteFlags flags);
void clear_fixmap(u32 idx);

// Install the static fixmap page tables into `pgd` (boot, and swapper_pg_dir).
void fixmap_install(x86::Pde* pgd);

// Early ioremap: map [phys, phys+size) through one of the boot-time slots,
// before (or without) any allocator, wherever the range lies (above lowmem
// too). Up to FIX_BTMAPS_SLOTS mappings at once, NR_FIX_BTMAPS pages each.
// Returns null (with a WARN) when no slot is free or the range is too large.
void* early_ioremap(PhysAddr phys, u32 size);
void early_iounmap(void* addr, u32 size);

} // namespace mm
