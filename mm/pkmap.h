// kmap(): the persistent pkmap pool (linux-highmem-spec.md §4).
//
//   void* p = kmap(page);     // may sleep; the address is valid on every CPU
//   ... use p, hand it to another thread, sleep ...
//   kunmap(page);             // the page, not the address
//
// LAST_PKMAP slots of one page table at PKMAP_BASE, each with a count:
//   0      free, and in no CPU's TLB
//   1      mapped but unused: the PTE is still there and may be cached in
//          TLBs, so the slot is reusable only after a global flush
//   n > 1  held by n - 1 kmap() callers
// A page that is in a slot (count >= 1) has that slot's address as its
// page_address(), through the hash in mm/page_address.h: kmap() of a page
// that is already there is a hit (count + 1, no PTE write, no flush).
//
// A miss scans from a rotating cursor (the first kmap after boot gets slot
// 1) for a slot at 0. When the cursor wraps to slot 0, every slot at count
// 1 is cleared and forgotten, and then, if there was one, exactly one
// flush_tlb_kernel_range of the whole pool is issued: above the single-page
// ceiling, so one full flush on every online CPU, the caller's included. A
// wrap that clears nothing flushes nothing (P6). kunmap only counts down:
// it never clears a PTE and never flushes.
//
// When LAST_PKMAP probes in a row find no free slot (every slot held), the
// caller sleeps on the pool's wait queue until a kunmap drops some slot to
// 1; woken, it first checks whether another task mapped its page meanwhile
// (then it shares that slot), else it scans again and reaches the wrap.
//
// Context: task context with interrupts enabled, where sleeping is allowed:
// kmap and kunmap call might_sleep(). The pool's one lock is a plain
// spinlock taken with interrupts ON (the wrap's shootdown waits for every
// CPU to take an IPI, and a CPU spinning on this lock must still take it);
// taking it with interrupts off WARNs (pkmap.lock_irqs_off). A lowmem page
// touches no pool state: kmap returns its direct-map address (P9).
//
// Diagnostics (site ids):
//   pkmap.kunmap_unmapped    BUG: kunmap of a highmem page with no slot
//   pkmap.kunmap_unbalanced  BUG: kunmap would take a slot's count to 0
//   pkmap.count_corrupt      BUG: a slot's count was wrong after kmap
//   pkmap.slot_without_pte   BUG: a count-1 slot had no PTE at a wrap
//   pkmap.lock_irqs_off      WARN: the pool lock taken with interrupts off
//   pkmap.kmap_to_page       WARN_ONCE: kmap_to_page() of a kmap() address
//   kmap_local.kmap_to_page  WARN_ONCE: kmap_to_page() of a kmap_local one
//   kmap_local.kmap_to_page_unknown  BUG: a kmap_local address that is not
//                            one of the current task's mappings
#pragma once

#include "arch/x86/paging.h"
#include "mm/page.h"

namespace mm {

constexpr u32 pkmap_addr(u32 nr) { return PKMAP_BASE + (nr << PAGE_SHIFT); }
constexpr u32 pkmap_nr(u32 va) { return (va - PKMAP_BASE) >> PAGE_SHIFT; }
constexpr bool is_pkmap_address(u32 va) { return va - PKMAP_BASE < LAST_PKMAP * PAGE_SIZE; }

void* kmap(Page* page);
void kunmap(Page* page);
// kunmap takes the page (Linux's rule): an address is refused at build time.
void kunmap(const void*) = delete;

// The page behind a kernel address. Deprecated: a kmap() or kmap_local
// address WARNs once (mainline flags the remaining callers the same way).
Page* kmap_to_page(const void* vaddr);

// Clear every count-1 slot now, with the one flush if there was any (what a
// wrap does; Linux's kmap_flush_unused).
void kmap_flush_unused();

// Protection keys (mm/pks.h): rewrite the pool's entries of key `key`'s
// frames for the global rights. No flush: a revocation's caller makes every
// CPU forget them.
void pkmap_reprotect_key(unsigned key);

void pkmap_init();

// Counters of the pool, since boot. Per-CPU full flushes are the TLB's
// (x86::tlb_counters(cpu).full_flushes).
struct PkmapStats {
    u32 hits;               // kmap of a page already in a slot
    u32 misses;             // kmap that needed a slot
    u32 wraps;              // the cursor passed slot 0
    u32 flushes;            // flush_tlb_kernel_range calls (wraps that cleared a slot)
    u32 slots_cleared;      // count-1 slots cleared by those flushes
    u32 waits;              // sleeps on a full pool
    u32 waits_found_mapped; // woken waiters whose page another task had mapped
};
PkmapStats pkmap_stats();
// The pool's counters and every online CPU's full flushes, on the console
// (the boot option pkmap.stats prints them after the test run).
void pkmap_print_stats();

} // namespace mm
