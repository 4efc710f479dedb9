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
#pragma once

#include "arch/x86/paging.h"
#include "mm/fixmap_layout.h"
#include "mm/page.h"

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

void* kmap_local_page(Page* page);
void* kmap_local_page_prot(Page* page, x86::PteFlags prot);
void* kmap_local_pfn(Pfn pfn);
void kunmap_local(const void* addr);
// A struct page is not an address: the Linux macro refuses it at build time.
void kunmap_local(Page*) = delete;
void kunmap_local(const Page*) = delete;

// The deprecated wrapper: preemption and page faults disabled, then
// kmap_local (also for lowmem pages). Its side effects are the point of the
// tests that convert away from it.
inline void* kmap_atomic(Page* page);
inline void kunmap_atomic(const void* addr);
void kunmap_atomic(Page*) = delete;

// The virtual address of position `pos` of CPU `cpu`'s block.
u32 kmap_local_slot_address(unsigned cpu, unsigned pos);
bool is_kmap_local_address(u32 va);
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

} // namespace mm

#include "sched/preempt.h"

inline void* mm::kmap_atomic(Page* page) {
    sched::preempt_disable();
    sched::pagefault_disable();
    return kmap_local_page(page);
}

inline void mm::kunmap_atomic(const void* addr) {
    kunmap_local(addr);
    sched::pagefault_enable();
    sched::preempt_enable();
}
