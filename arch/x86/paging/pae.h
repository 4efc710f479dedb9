// The PAE paging method: 64-bit entries; a four-entry PDPT (what CR3 points
// at) over four page directories of 512 PDEs, each pointing at a page table
// of 512 PTEs that maps 2 MiB. A PTE holds 24 bits of frame number here
// (Linux's HIGHMEM64G: 36-bit physical addresses, 64 GiB), and bit 63 is
// NX, which the CPU honours once EFER.NXE is on.
//
// Do not include this: arch/x86/paging.h selects the method at build time
// (HIMEM_PAE) and builds Pte, Pde and their accessors on it. The members are
// those of paging/two_level.h, with the same meaning.
//
// An entry is two words, and no page walk or reader on another CPU may see
// half of an update (linux-highmem-spec.md §1.8):
//   - an entry that is not present is set high word first, then the low
//     word that holds Present: a walk in between still sees "not present";
//   - clearing writes the low word first (Present goes), then the high one;
//   - a present entry is replaced with one cmpxchg8b, so a walk sees the old
//     entry or the new one and never the new frame's high bits under the
//     old low word (Linux's set_pte_atomic). himem rewrites present entries
//     (protection keys, the faultable region), so write() looks at Present
//     and picks the safe way itself: a caller cannot pick the wrong one.
//   - a read takes the low word, the high word, and the low word again
//     until the two low words agree (Linux's ptep_get_lockless).
// x86 keeps stores in program order and loads in program order; what keeps
// the compiler from reordering the two halves is a compiler barrier.
#pragma once

#include "lib/addr.h"
#include "lib/types.h"

namespace x86::paging {

struct Pae {
    static constexpr const char* NAME = "PAE";

    using Entry = u64;
    static constexpr unsigned LEVELS = 3;
    // The PDPT's four entries each map 1 GiB; the PDEs below them point at
    // page tables (Linux's PMD level).
    static constexpr u32 PGDIR_SHIFT = 30;
    static constexpr u32 PMD_SHIFT = 21;   // what one page table maps: 2 MiB
    static constexpr u32 PTRS_PER_PTE = 512;

    // Frame bits 12-35: the 36-bit physical addresses of every PAE CPU (and
    // what QEMU's 32-bit models report). Bits 36-51 are reserved below a
    // wider MAXPHYADDR; himem stops where HIGHMEM64G did.
    static constexpr Entry FRAME_MASK = 0x0000000ffffff000ull;
    static constexpr lib::Pfn PFN_LIMIT{1u << 24};   // 64 GiB
    // Execute-disable: reserved (a fault) unless EFER.NXE is set.
    static constexpr Entry NX_BIT = 1ull << 63;

    // The top level CR3 points at: four PDPTEs, 32-byte aligned, below
    // 4 GiB. A PDPTE has Present and the cache bits only; writable and
    // user are reserved there (a CR3 load with them set is a #GP), so the
    // PDEs decide. The CPU loads all four when CR3 is written and caches
    // them: they are written once, before that.
    struct alignas(32) Root {
        Entry pdpte[4];
    };
    static u32 root_init(Root& root, lib::PhysAddr root_phys, lib::PhysAddr directory) {
        for (u32 i = 0; i < 4; ++i)
            root.pdpte[i] = (directory.value() + i * lib::PAGE_SIZE) | 1u;
        return static_cast<u32>(root_phys.value());
    }

    // Word access to the halves of an entry: a u32 view of a u64 object.
    typedef u32 Word __attribute__((may_alias));
    static Word* low(Entry* e) { return reinterpret_cast<Word*>(e); }
    static Word* high(Entry* e) { return reinterpret_cast<Word*>(e) + 1; }
    static const Word* low(const Entry* e) { return reinterpret_cast<const Word*>(e); }
    static const Word* high(const Entry* e) { return reinterpret_cast<const Word*>(e) + 1; }
    static void barrier() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

    static void write(Entry* entry, Entry value) {
        if (__atomic_load_n(low(entry), __ATOMIC_RELAXED) & 1u) {
            replace(entry, value);
            return;
        }
        __atomic_store_n(high(entry), static_cast<u32>(value >> 32), __ATOMIC_RELAXED);
        barrier();
        __atomic_store_n(low(entry), static_cast<u32>(value), __ATOMIC_RELAXED);
    }
    static void clear(Entry* entry) {
        __atomic_store_n(low(entry), 0u, __ATOMIC_RELAXED);
        barrier();
        __atomic_store_n(high(entry), 0u, __ATOMIC_RELAXED);
    }
    static Entry read(const Entry* entry) {
        for (;;) {
            const u32 lo = __atomic_load_n(low(entry), __ATOMIC_RELAXED);
            barrier();
            const u32 hi = __atomic_load_n(high(entry), __ATOMIC_RELAXED);
            barrier();
            if (__atomic_load_n(low(entry), __ATOMIC_RELAXED) == lo)
                return (Entry{hi} << 32) | lo;
        }
    }

    // Present to anything: one locked cmpxchg8b, retried if the entry moved
    // (the CPU may have set Accessed or Dirty in it meanwhile). Written out:
    // GCC calls libatomic for a u64 compare-exchange (a u64 is only 4-byte
    // aligned in the i386 ABI, an entry always 8).
    [[gnu::noinline]] static void replace(Entry* entry, Entry value) {
        Entry seen = read(entry);
        for (;;) {
            u32 seen_lo = static_cast<u32>(seen), seen_hi = static_cast<u32>(seen >> 32);
            bool done;
            asm volatile("lock cmpxchg8b %[e]"
                         : [e] "+m"(*entry), "+a"(seen_lo), "+d"(seen_hi), "=@ccz"(done)
                         : "b"(static_cast<u32>(value)), "c"(static_cast<u32>(value >> 32))
                         : "memory");
            if (done)
                return;
            seen = (Entry{seen_hi} << 32) | seen_lo;
        }
    }
};

} // namespace x86::paging

// The printf conversion of a raw entry, as PRIx64 is for a u64.
#define PRIxPTE "llx"
