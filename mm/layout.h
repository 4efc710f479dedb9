// The kernel half of the i386 address space, top down, with Linux's formulas
// (linux-highmem-spec.md §1.2-1.3; the numbers are in docs/memory.md).
//
//   FIXADDR_TOP       0xfffff000   fixmap index 0 (FIX_HOLE, never mapped)
//   fixmap            grows down: permanent slots, then early-ioremap slots
//   FIXADDR_TOT_START bottom of the fixmap
//   PKMAP_BASE        one page table below, PMD aligned: LAST_PKMAP slots
//   VMALLOC_END       PKMAP_BASE - 2 pages
//   vmalloc           down to VMALLOC_START = high_memory + VMALLOC_OFFSET
//   direct map        PAGE_OFFSET .. high_memory: lowmem, PAGE_OFFSET + phys
//
// The lowmem limit L is MAXMEM = VMALLOC_END - PAGE_OFFSET - VMALLOC_RESERVE:
// the direct map may grow until only the vmalloc reserve is left.
#pragma once

#include "arch/x86/layout.h"
#include "arch/x86/paging.h"
#include "mm/fixmap_layout.h"
#include "mm/types.h"

namespace mm {

constexpr u32 PAGE_OFFSET = x86::KERNEL_VMA;
using x86::PMD_SIZE;                          // what one page table maps
constexpr u32 PMD_MASK = ~(PMD_SIZE - 1);

constexpr u32 LAST_PKMAP = x86::PTRS_PER_PTE;   // one page table of slots
constexpr u32 PKMAP_BASE =
    (FIXADDR_TOT_START - PAGE_SIZE * (LAST_PKMAP + 1)) & PMD_MASK;

constexpr u32 VMALLOC_OFFSET = 8u * 1024 * 1024;    // guard hole after the direct map
constexpr u32 VMALLOC_RESERVE = 128u * 1024 * 1024;
constexpr u32 VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE;

constexpr u32 MAXMEM = VMALLOC_END - PAGE_OFFSET - VMALLOC_RESERVE;
constexpr u32 MAXMEM_PFN = MAXMEM >> PAGE_SHIFT;

// The physical memory a PTE can map (4 GiB with 2-level paging, 64 GiB with
// PAE); RAM above it is clipped.
constexpr u64 MAX_PHYS = x86::PTE_PFN_LIMIT.phys().value();

// Zone boundaries below L.
constexpr u32 DMA_LIMIT = 16u * 1024 * 1024;
// highmem= may not leave less lowmem than this (Linux: 64 MiB).
constexpr u32 MIN_LOWMEM_WITH_HIGHMEM_PARAM = 64u * 1024 * 1024;

static_assert(PKMAP_BASE % PMD_SIZE == 0, "L1: the pool is one PMD-aligned page table");
static_assert(LAST_PKMAP * PAGE_SIZE == PMD_SIZE, "L1");
static_assert(PKMAP_BASE + LAST_PKMAP * PAGE_SIZE <= FIXADDR_TOT_START, "L2");
static_assert(PKMAP_BASE + LAST_PKMAP * PAGE_SIZE <= (FIXADDR_TOT_START & PMD_MASK),
              "the pool's page table is not one of the fixmap's");
static_assert(VMALLOC_END <= PKMAP_BASE - 2 * PAGE_SIZE, "L2");

} // namespace mm
