// The 2-level (non-PAE) paging method: 32-bit entries; a page directory of
// 1024 PDEs, each pointing at a page table of 1024 PTEs that maps 4 MiB.
// A PTE holds 20 bits of frame number, so only memory below 4 GiB can be
// mapped.
//
// Do not include this: arch/x86/paging.h selects the method at build time
// and builds Pte, Pde and their accessors on it. A paging method is a
// struct that defines exactly the members below and nothing else; what is
// not here is the same in every mode. The PAE method (paging/pae.h) is the
// other one: 64-bit entries, three levels, 512 entries per table, a frame
// mask that reaches above 4 GiB, NX, and writes of two-word entries that no
// walk sees half done.
#pragma once

#include "lib/addr.h"
#include "lib/types.h"

namespace x86::paging {

struct TwoLevel {
    static constexpr const char* NAME = "2-level";

    using Entry = u32;   // a PTE or a PDE as the CPU reads it
    static constexpr unsigned LEVELS = 2;
    // The page directory is the top level and also the level whose entries
    // point at page tables: Linux's PMD is folded into its PGD.
    static constexpr u32 PGDIR_SHIFT = 22;
    static constexpr u32 PMD_SHIFT = 22;   // what one page table maps: 4 MiB
    static constexpr u32 PTRS_PER_PTE = 1024;

    static constexpr Entry FRAME_MASK = 0xfffff000u;
    // The first frame an entry cannot hold (4 GiB): a larger one would be
    // truncated to another frame.
    static constexpr lib::Pfn PFN_LIMIT{1u << 20};
    // No execute-disable bit: a 2-level entry has none (NX needs PAE).
    static constexpr Entry NX_BIT = 0;

    // The top level CR3 points at is the page directory itself.
    struct Root {};
    static u32 root_init(Root&, lib::PhysAddr /*root_phys*/, lib::PhysAddr directory) {
        return static_cast<u32>(directory.value());
    }

    // An entry is one aligned 32-bit word: one store writes it whole, so no
    // CPU's page walk and no other CPU's read can see half of it. The store
    // is one the compiler may not split, merge, move or drop (WRITE_ONCE).
    static void write(Entry* entry, Entry value) {
        __atomic_store_n(entry, value, __ATOMIC_RELAXED);
    }
    static void clear(Entry* entry) { write(entry, 0); }
    static Entry read(const Entry* entry) { return __atomic_load_n(entry, __ATOMIC_RELAXED); }
};

} // namespace x86::paging

// The printf conversion of a raw entry, as PRIx32 is for a u32:
// printk("PTE %#" PRIxPTE "\n", pte.raw()).
#define PRIxPTE "x"
