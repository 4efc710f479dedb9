// 2-level (non-PAE) page-table entries and the TLB primitives on this CPU.
#pragma once

#include "arch/x86/cpu.h"
#include "lib/types.h"

namespace x86 {

using pte_t = u32;
using pde_t = u32;

constexpr u32 PTRS_PER_PTE = 1024;
constexpr u32 PTRS_PER_PGD = 1024;
constexpr u32 PGDIR_SHIFT = 22;
constexpr u32 PGDIR_SIZE = 1u << PGDIR_SHIFT;   // 4 MiB: what one page table maps

constexpr pte_t PTE_PRESENT = 1u << 0;
constexpr pte_t PTE_WRITE = 1u << 1;
constexpr pte_t PTE_USER = 1u << 2;
constexpr pte_t PTE_PWT = 1u << 3;
constexpr pte_t PTE_PCD = 1u << 4;
constexpr pte_t PTE_ACCESSED = 1u << 5;
constexpr pte_t PTE_DIRTY = 1u << 6;
constexpr pte_t PTE_PSE = 1u << 7;      // in a PDE: 4 MiB page
constexpr pte_t PTE_GLOBAL = 1u << 8;
constexpr pte_t PTE_FRAME = 0xfffff000u;

// A 2-level PTE holds a 20-bit frame number: frames at or above 4 GiB
// cannot be mapped (PAE can).
constexpr u32 PTE_PFN_LIMIT = 1u << 20;

constexpr u32 pgd_index(u32 va) { return va >> PGDIR_SHIFT; }
constexpr u32 pte_index(u32 va) { return (va >> 12) & (PTRS_PER_PTE - 1); }

// Kernel PTE updates go through these. The store is one access the compiler
// may not split, merge, move or drop (WRITE_ONCE), and the barrier after it
// keeps every later access to the mapping - the caller's first use of an
// address it is about to return, an invlpg of a cleared slot - behind the
// store, instead of relying on an out-of-line call to happen to order them.
// A 2-level PTE is one aligned 32-bit word, so no other CPU can see it torn.
inline void set_pte(pte_t* ptep, pte_t value) {
    __atomic_store_n(ptep, value, __ATOMIC_RELAXED);
    asm volatile("" ::: "memory");
}
inline void pte_clear(pte_t* ptep) { set_pte(ptep, 0); }
inline pte_t read_pte(const pte_t* ptep) { return __atomic_load_n(ptep, __ATOMIC_RELAXED); }

inline void invlpg(u32 va) { asm volatile("invlpg (%0)" : : "r"(va) : "memory"); }

// Drops every non-global entry of this CPU's TLB.
inline void flush_tlb_local() { write_cr3(read_cr3()); }

// Drops every entry, global ones too (toggling CR4.PGE).
inline void flush_tlb_local_all() {
    const u32 cr4 = read_cr4();
    if (cr4 & CR4_PGE) {
        write_cr4(cr4 & ~CR4_PGE);
        write_cr4(cr4);
    } else {
        flush_tlb_local();
    }
}

} // namespace x86
