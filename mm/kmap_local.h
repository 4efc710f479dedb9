// kmap_local: short-lived, CPU-local mappings of any page, with a per-task
// stack saved and restored on context switch (linux-highmem-spec.md §2).
//
//   void* p = kmap_local_page(page);   // highmem: a fixmap slot of this CPU
//   ... use p; preemption and page faults stay allowed ...
//   kunmap_local(p);                    // any address inside the page; LIFO
//
// The stack lives in the task (its kmap_ctrl: the depth and the PTE value of
// every slot it holds); the slots are per CPU: FIX_KMAP_BEGIN + position +
// KM_MAX_IDX * cpu. Holding a mapping disables migration (the task stays on
// this CPU, where its slots are), not preemption. Map = push + PTE write (no
// flush: the slot's last unmap flushed it). Unmap = pop + PTE clear + a local
// invlpg. A lowmem page needs no slot: its direct-map address comes back,
// nothing is pushed (unless force-map is on, in the debug build).
//
// The context switch clears the outgoing task's slots in prepare_switch
// (interrupts off) and writes the incoming task's back in finish_switch
// (interrupts on); neither touches the index, so an interrupt that maps in
// between stacks above it safely (seeds/003).
//
// Usable from task and hardirq context (an interrupt stacks on the task it
// interrupted and must pop before it returns), not from NMI. The limit is
// KM_MAX_IDX - 1 live mappings (15; 16 in the debug build, whose even
// positions stay unmapped as guards), task and interrupt entries together.
//
// Diagnostics (site ids):
//   kmap_local.unmap_order     WARN (once printed): unmap of a slot that is
//                              not the top of the stack; the top is popped
//   kmap_local.stack_overflow  BUG: one mapping too many
//   kmap_local.stack_underflow BUG: unmap with an empty stack, before any change
//   kmap_local.slot_busy       BUG: the slot to map is not empty
//   kmap_local.unmap_not_kmap  WARN: force-map on, a non-kmap address unmapped
//   kmap_local.unmap_user      WARN: a user-space address unmapped
//   kmap_local.irq_leak        WARN: an interrupt handler returned with another
//                              depth than it found (what it left mapped is undone)
//   kmap_local.exception_leak  WARN: the same, for an exception handler (a #PF
//                              or #DB handler that maps)
//   kmap_local.call_leak       WARN: the same, for a cross-CPU callback, run
//                              from the IPI or from a caller's wait loop
//   kmap_local.exit_with_mappings  WARN: a task exited holding mappings (undone)
//   kmap_local.fork_with_mappings  WARN: a task created while its creator
//                              held mappings (the new one starts empty)
//   kmap_local.hardirq_irqs_on WARN: mapping in a hardirq with interrupts on
//
// The map and the unmap are inline (below): the common case is a few dozen
// instructions with no call. Every check stays, each a predictable branch
// to a cold out-of-line report (kmap_local.cpp).
#pragma once

#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tlb.h"
#include "mm/fixmap.h"
#include "mm/fixmap_layout.h"
#include "mm/highmem.h"
#include "mm/kmap_audit.h"
#include "mm/page.h"
#include "mm/pks.h"
#include "sched/preempt.h"
#include "sched/task_state.h"

namespace sched {
struct Task;
}

namespace mm {

constexpr u32 KM_INCR = HIMEM_DEBUG ? 2 : 1;
constexpr bool KMAP_FORCE_MAP = HIMEM_DEBUG;

// The task's stack: the depth in positions (KM_INCR per mapping) and what
// it has installed at each position. Kept in the task (sched/task_state.h).
using sched::KmapCtrl;

[[gnu::always_inline]] inline void* kmap_local_page(Page* page);
[[gnu::always_inline]] inline void* kmap_local_page_prot(Page* page, x86::PteFlags prot);
void* kmap_local_pfn(Pfn pfn);
[[gnu::always_inline]] inline void kunmap_local(const void* addr);
// A struct page is not an address: the Linux macro refuses it at build time.
void kunmap_local(Page*) = delete;
void kunmap_local(const Page*) = delete;

// The deprecated wrapper: preemption and page faults disabled, then
// kmap_local (also for lowmem pages). Its side effects are the point of the
// tests that convert away from it. Debug build with kmap.audit: no side
// effects, an audited section instead (mm/kmap_audit.h).
[[gnu::always_inline]] inline void* kmap_atomic(Page* page);
[[gnu::always_inline]] inline void kunmap_atomic(const void* addr);
void kunmap_atomic(Page*) = delete;

// The virtual address of position `pos` of CPU `cpu`'s block.
u32 kmap_local_slot_address(unsigned cpu, unsigned pos);
// Any CPU's block, any position.
constexpr bool is_kmap_local_address(u32 va) {
    constexpr u32 lowest = fix_to_virt(FIX_KMAP_BEGIN + KM_MAX_IDX * x86::NR_CPUS - 1);
    constexpr u32 highest = fix_to_virt(FIX_KMAP_BEGIN);
    return (va & PAGE_MASK) - lowest <= highest - lowest;
}
// The page the current task has mapped at kmap_local address `va`, or null.
Page* kmap_local_page_at(u32 va);

KmapCtrl& kmap_ctrl(sched::Task* task);
int kmap_local_depth();   // of the current task, in mappings

// Registers kmap_local's task hooks (life, switch, interrupts): at boot,
// before the scheduler starts.
void kmap_local_init();

// Protection keys (mm/pks.h): rewrite every position of `task`'s stack that
// maps a keyed frame for `rights` - the values it saved, and, if `live`, its
// slots on this CPU that hold them (with a local flush). Preemption off.
void kmap_local_reprotect(sched::Task* task, u32 rights, bool live);

// ---- the inline fast paths -------------------------------------------------------

namespace detail {

extern x86::PteFlags kmap_prot;   // PAGE_KERNEL, fixed at boot

// This CPU's block (x86/percpu.h, filled in by kmap_local_init): position
// p's PTE and address are p entries and p pages below position 0's.
inline x86::Pte* slot_pte(unsigned pos) {
    return reinterpret_cast<x86::Pte*>(PERCPU_READ(kmap_pte)) - pos;
}
inline u32 slot_address(unsigned pos) {
    const u32 va = PERCPU_READ(kmap_vaddr) - (pos << PAGE_SHIFT);
    if (va & ~PAGE_MASK)
        __builtin_unreachable();   // page-aligned: lets kunmap_local's mask go
    return va;
}

// The cold reports (kmap_local.cpp).
[[gnu::cold, noreturn]] void kmap_local_no_task();
[[gnu::cold]] void kmap_local_check_context();
[[gnu::cold, noreturn]] void kmap_local_overflow(const sched::Task* t);
[[gnu::cold, noreturn]] void kmap_local_slot_busy(const sched::Task* t, unsigned pos, x86::Pte stale);
[[gnu::cold]] void kunmap_local_not_slot(const void* vaddr);
[[gnu::cold]] void kunmap_local_misordered(const sched::Task* t, u32 addr, const void* vaddr);
// Protection keys: a keyed frame's install and its undoing (mm/pks.h).
void kmap_local_install_keyed(sched::Task* t, x86::Pte* pte, x86::Pte* saved, x86::Pte value,
                              unsigned key, bool enable);
void kmap_local_forget_if_keyed(sched::Task* t, x86::Pte e);

// Whether a mapping opens a keyed frame for the task (kmap_local_page) or
// leaves the task's rights as they are (kmap_local_pfn).
enum class OpenKey : bool { No, Yes };

// Always inline: GCC would otherwise keep one out-of-line copy, with its
// call and frame, for the sake of size.
template <OpenKey open>
[[gnu::always_inline]] inline void* kmap_local_pfn_prot(Pfn pfn, x86::PteFlags prot) {
    sched::Task* t = sched::current();
    if (HIMEM_DEBUG && unlikely(!t))
        kmap_local_no_task();   // (release: the fault of the null access below)
    if (unlikely(sched::preempt_count_raw() & (sched::HARDIRQ_MASK | sched::NMI_MASK)))
        kmap_local_check_context();
    sched::migrate_disable(t);   // until the matching unmap
    sched::preempt_disable();    // only for the slot update
    KmapCtrl& kc = t->kmap_ctrl;
    const int idx = kc.idx + static_cast<int>(KM_INCR);
    if (unlikely(idx >= static_cast<int>(KM_MAX_IDX)))
        kmap_local_overflow(t);
    kc.idx = idx;
    const auto pos = static_cast<unsigned>(idx - 1);
    x86::Pte* pte = slot_pte(pos);
    if (const x86::Pte stale = x86::read_pte(pte); unlikely(!stale.none()))
        kmap_local_slot_busy(t, pos, stale);
    const x86::Pte value = x86::Pte::make(pfn, prot);
    // No flush: the slot's previous unmap (or sched_out) flushed it here.
    if (const unsigned key = pks_frame_key(pfn); likely(!key)) {
        x86::set_pte(pte, value);
        kc.pteval[pos] = value;
    } else {
        kmap_local_install_keyed(t, pte, &kc.pteval[pos], value, key, open == OpenKey::Yes);
    }
    sched::preempt_enable();
    return reinterpret_cast<void*>(slot_address(pos));
}

// Pop the top position `pos` of the current task `t`'s stack and flush
// `flush` (the unmapped address; the top's own, unless out of order).
[[gnu::always_inline]] inline void kmap_local_pop(sched::Task* t, KmapCtrl& kc, unsigned pos, u32 flush) {
    if (unlikely(t->pks.keyed_mappings))
        kmap_local_forget_if_keyed(t, kc.pteval[pos]);
    x86::pte_clear(slot_pte(pos));
    x86::local_invlpg(flush);
    kc.pteval[pos] = {};
    kc.idx -= KM_INCR;
    sched::preempt_enable();
    sched::migrate_enable(t);
}

} // namespace detail

[[gnu::always_inline]] inline void* kmap_local_page_prot(Page* page, x86::PteFlags prot) {
    if (!KMAP_FORCE_MAP && !page_is_highmem(page))
        return lowmem_page_address(page);   // no push, no migrate_disable (K7)
    return detail::kmap_local_pfn_prot<detail::OpenKey::Yes>(page_to_pfn(page), prot);
}

[[gnu::always_inline]] inline void* kmap_local_page(Page* page) { return kmap_local_page_prot(page, detail::kmap_prot); }

[[gnu::always_inline]] inline void kunmap_local(const void* vaddr) {
    const u32 addr = reinterpret_cast<u32>(vaddr) & PAGE_MASK;
    if (unlikely(!is_kmap_local_address(addr))) {
        // A direct-map address from the lowmem shortcut (K7), unless force-map
        // is on or it is a user address: those are reported.
        if (KMAP_FORCE_MAP || unlikely(addr < PAGE_OFFSET))
            detail::kunmap_local_not_slot(vaddr);
        return;
    }
    sched::Task* t = sched::current();
    sched::preempt_disable();
    KmapCtrl& kc = t->kmap_ctrl;
    const int idx = kc.idx;
    const auto pos = static_cast<unsigned>(idx - 1);
    // An empty stack BUGs before any change; out of order WARNs, and then,
    // as Linux, the top slot is cleared and popped and the passed address
    // flushed, which leaves the wrong mapping: "malfunction".
    if (unlikely(idx <= 0 || addr != detail::slot_address(pos)))
        detail::kunmap_local_misordered(t, addr, vaddr);
    detail::kmap_local_pop(t, kc, pos, addr);
}

} // namespace mm

inline void* mm::kmap_atomic(Page* page) {
    if (HIMEM_DEBUG && unlikely(detail::kmap_audit_on))
        return detail::kmap_atomic_audited(page);
    sched::preempt_disable();
    sched::pagefault_disable();
    return kmap_local_page(page);
}

inline void mm::kunmap_atomic(const void* addr) {
    if (HIMEM_DEBUG && unlikely(detail::kmap_audit_on)) {
        detail::kunmap_atomic_audited(addr);
        return;
    }
    kunmap_local(addr);
    sched::pagefault_enable();
    sched::preempt_enable();
}
