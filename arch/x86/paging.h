// Paging on this CPU: the paging method chosen at build time, the
// page-table entry types built on it, and the TLB primitives.
//
// A paging method (arch/x86/paging/*.h, after Haiku's X86PagingMethod*) is
// all that differs between paging modes: the width of an entry, the levels,
// entries per table, the frame mask and highest frame, and how an entry is
// written, cleared and read. HIMEM_PAE selects it (a CMake option, default
// off: the 2-level method; on: PAE, the `pae` build variant). Haiku chooses its method at boot
// behind virtual calls; here the choice is made by the build, so the kmap
// hot paths inline a single store. Everything else is written once, for
// every mode, on the types below, and mm/ never asks which mode it runs in:
//
//   PteFlags  the flag bits of an entry: PTE_PRESENT, PTE_WRITE, ...
//   Pte       a page-table entry: Pte::make(pfn, flags), pfn(), present(),
//             writable(), flags(), ...; Pte() is the empty entry
//   Pde       a page-directory entry, the one that points at a page table
//             (Linux's pmd_t; with 2-level paging the PGD entry itself)
//
// An entry in a table that a CPU may walk is written only through
// set_pte()/pte_clear() (set_pde()/pde_clear()) and read through read_pte()
// (read_pde()).
#pragma once

#include "arch/x86/cpu.h"
#include "lib/addr.h"
#include "lib/types.h"

#if HIMEM_PAE
#include "arch/x86/paging/pae.h"
namespace x86 {
using PagingMethod = paging::Pae;
}
#else
#include "arch/x86/paging/two_level.h"
namespace x86 {
using PagingMethod = paging::TwoLevel;
}
#endif

namespace x86 {

using lib::Pfn;
using lib::PhysAddr;
using lib::VirtAddr;

// ---- geometry -------------------------------------------------------------------

constexpr const char* PAGING_MODE = PagingMethod::NAME;   // for messages: "2-level", "PAE"

// The first frame an entry cannot map: physical memory from here up is out
// of reach.
constexpr Pfn PTE_PFN_LIMIT = PagingMethod::PFN_LIMIT;

constexpr u32 PTRS_PER_PTE = PagingMethod::PTRS_PER_PTE;
constexpr u32 PMD_SHIFT = PagingMethod::PMD_SHIFT;
constexpr u32 PMD_SIZE = 1u << PMD_SHIFT;   // what one page table maps

// The kernel page directory as mm sees it: one PDE per page table, covering
// the whole 4 GiB, indexed by pde_index() (with 2-level paging, the page
// directory the CPU walks).
constexpr u32 PTRS_PER_PD = 1u << (32 - PMD_SHIFT);

constexpr u32 pde_index(VirtAddr va) { return va.value() >> PMD_SHIFT; }
constexpr u32 pte_index(VirtAddr va) {
    return (va.value() >> lib::PAGE_SHIFT) & (PTRS_PER_PTE - 1);
}

// ---- entries --------------------------------------------------------------------

// The flag bits of a PTE or PDE: everything but the frame.
class PteFlags {
public:
    using Raw = PagingMethod::Entry;

    constexpr PteFlags() = default;
    constexpr explicit PteFlags(Raw bits) : m_bits(bits) {}
    constexpr Raw value() const { return m_bits; }

    constexpr PteFlags operator|(PteFlags o) const { return PteFlags(m_bits | o.m_bits); }
    // Whether every flag of `f` is set.
    constexpr bool has(PteFlags f) const { return (m_bits & f.m_bits) == f.m_bits; }
    constexpr bool operator==(const PteFlags&) const = default;

private:
    Raw m_bits = 0;
};

constexpr PteFlags PTE_PRESENT{1u << 0};
constexpr PteFlags PTE_WRITE{1u << 1};
constexpr PteFlags PTE_USER{1u << 2};
constexpr PteFlags PTE_PWT{1u << 3};
constexpr PteFlags PTE_PCD{1u << 4};
constexpr PteFlags PTE_ACCESSED{1u << 5};
constexpr PteFlags PTE_DIRTY{1u << 6};
constexpr PteFlags PTE_PSE{1u << 7};      // in a PDE: a large page, not a page table
constexpr PteFlags PTE_GLOBAL{1u << 8};
// Bits 9-11 are the software's in every mode. Protection keys (mm/pks.h)
// use two in the entries of keyed frames: the write permission a key took
// away, and "this mapping enabled access for its key" (undone at unmap).
constexpr PteFlags PTE_SOFT_WRITE{1u << 9};
constexpr PteFlags PTE_SOFT_ENABLED{1u << 10};
// Execute-disable, where the method has it (PAE: bit 63; 2-level: none, and
// this is the empty set). Set in kernel_pte_flags() only once nx_enable()
// said yes: without EFER.NXE the bit is reserved and every walk faults.
constexpr PteFlags PTE_NX{PagingMethod::NX_BIT};

// A frame the paging mode cannot map: BUG (paging.frame_unmappable).
[[noreturn, gnu::cold]] void pte_frame_unmappable(Pfn pfn);

// What a PTE and a PDE have in common: a frame and flags in one word of the
// method's width. A plain value; only the accessors below touch a live one.
template <typename Self>
class PagingEntry {
public:
    using Raw = PagingMethod::Entry;

    // Frame `pfn` with `flags`. A frame the entry cannot hold BUGs instead
    // of being truncated to another frame.
    static constexpr Self make(Pfn pfn, PteFlags flags) {
        if (unlikely(pfn >= PTE_PFN_LIMIT))
            pte_frame_unmappable(pfn);
        return from_raw((Raw{pfn.value()} << lib::PAGE_SHIFT) | flags.value());
    }
    // The entry whose raw value is `raw`, unchecked: what an accessor read,
    // or, in a test, a bad entry built on purpose.
    static constexpr Self from_raw(Raw raw) {
        Self e;
        e.m_raw = raw;
        return e;
    }

    constexpr Raw raw() const { return m_raw; }
    constexpr bool none() const { return m_raw == 0; }
    constexpr Pfn pfn() const {
        return Pfn(static_cast<u32>((m_raw & PagingMethod::FRAME_MASK) >> lib::PAGE_SHIFT));
    }
    constexpr PteFlags flags() const { return PteFlags(m_raw & ~PagingMethod::FRAME_MASK); }
    constexpr bool present() const { return flags().has(PTE_PRESENT); }

    friend constexpr bool operator==(Self a, Self b) { return a.m_raw == b.m_raw; }

private:
    Raw m_raw = 0;
    friend struct EntryAccess;
};

class Pte : public PagingEntry<Pte> {
public:
    constexpr bool writable() const { return flags().has(PTE_WRITE); }
    constexpr bool global() const { return flags().has(PTE_GLOBAL); }
    constexpr bool accessed() const { return flags().has(PTE_ACCESSED); }
    constexpr bool dirty() const { return flags().has(PTE_DIRTY); }

    // The same entry with `f` set, or cleared.
    constexpr Pte with(PteFlags f) const { return from_raw(raw() | f.value()); }
    constexpr Pte without(PteFlags f) const { return from_raw(raw() & ~f.value()); }
};

class Pde : public PagingEntry<Pde> {
public:
    // A large page, not a page table (the kernel makes none: 4 KiB pages only).
    constexpr bool large() const { return flags().has(PTE_PSE); }
};

// A table of entries is an array of them, as the CPU walks it.
static_assert(sizeof(Pte) == sizeof(Pte::Raw) && alignof(Pte) == alignof(Pte::Raw));
static_assert(sizeof(Pde) == sizeof(Pde::Raw) && alignof(Pde) == alignof(Pde::Raw));

// The only code that touches a live entry's memory: the method's access,
// then a compiler barrier that keeps every later access to the mapping -
// the caller's first use of an address it is about to return, an invlpg of
// a cleared slot - behind the write, instead of relying on an out-of-line
// call to happen to order them.
//
// The value to write is taken by reference: a class passed by value is an
// aggregate copy, which GCC does not merge with an earlier read of the same
// entry (sched_in would load every saved PTE twice).
struct EntryAccess {
    template <typename E>
    static void write(E* slot, const E& value) {
        PagingMethod::write(&slot->m_raw, value.m_raw);
        asm volatile("" ::: "memory");
    }
    template <typename E>
    static void clear(E* slot) {
        PagingMethod::clear(&slot->m_raw);
        asm volatile("" ::: "memory");
    }
    template <typename E>
    static E read(const E* slot) {
        return E::from_raw(PagingMethod::read(&slot->m_raw));
    }
};

inline void set_pte(Pte* ptep, const Pte& pte) { EntryAccess::write(ptep, pte); }
inline void pte_clear(Pte* ptep) { EntryAccess::clear(ptep); }
inline Pte read_pte(const Pte* ptep) { return EntryAccess::read(ptep); }

inline void set_pde(Pde* pdep, const Pde& pde) { EntryAccess::write(pdep, pde); }
inline void pde_clear(Pde* pdep) { EntryAccess::clear(pdep); }
inline Pde read_pde(const Pde* pdep) { return EntryAccess::read(pdep); }

// ---- the top level ----------------------------------------------------------------

// What CR3 points at for a kernel page directory of PTRS_PER_PD entries:
// nothing beyond the directory with 2-level paging, a four-entry PDPT over
// its four pages with PAE. It must lie below 4 GiB (the kernel image does).
using PagingRoot = PagingMethod::Root;

// Point `root` (at physical `root_phys`) at the directory at physical
// `directory`, and return the value for CR3.
inline u32 paging_root_init(PagingRoot& root, PhysAddr root_phys, PhysAddr directory) {
    return PagingMethod::root_init(root, root_phys, directory);
}

// Turn on execute-disable (EFER.NXE) if the method has an NX bit and the CPU
// has NX (CPUID 0x80000001 EDX bit 20); true if PTE_NX may be used from now
// on. On this CPU only: the APs turn it on in the trampoline (nx_enabled()).
bool nx_enable();
bool nx_enabled();

// ---- TLB ------------------------------------------------------------------------

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
