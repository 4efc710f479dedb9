// The preempt count itself (sched/preempt.h has the rest of the context
// counters): a leaf header, so that lib's platform fast paths
// (sched/platform_inline.h) can inline it below everything that includes
// spinlocks.
#pragma once

#include "arch/x86/percpu.h"
#include "lib/atomic.h"
#include "lib/types.h"
#include "sched/context_observer.h"

namespace sched {

constexpr u32 PREEMPT_MASK = 0xff;
constexpr u32 HARDIRQ_OFFSET = 1u << 16;
constexpr u32 HARDIRQ_MASK = 0xfu << 16;
constexpr u32 NMI_OFFSET = 1u << 20;
constexpr u32 NMI_MASK = 0xfu << 20;
// Inverted: set while no reschedule is pending (x86/percpu.h).
constexpr u32 PREEMPT_NEED_RESCHED = x86::PREEMPT_NEED_RESCHED;

// The count with the reschedule bit, as the CPU holds it.
inline u32 preempt_count_raw() { return PERCPU_READ(preempt_count); }
inline u32 preempt_count() { return preempt_count_raw() & ~PREEMPT_NEED_RESCHED; }
// Asked by code that decides by it (observed for the kmap_atomic audit);
// the kernel's own checks read preempt_count() instead.
inline bool in_atomic() {
    observe_context(ContextEvent::InAtomic);
    return preempt_count() != 0;
}
inline bool in_hardirq() { return preempt_count_raw() & HARDIRQ_MASK; }
inline bool in_nmi() { return preempt_count_raw() & NMI_MASK; }
inline bool in_interrupt() { return preempt_count_raw() & (HARDIRQ_MASK | NMI_MASK); }
inline bool in_task() { return !in_interrupt(); }

inline void preempt_disable() {
    PERCPU_INC(preempt_count);
    compiler_barrier();
}

// preempt_enable()'s decrement did not leave the reschedule bit set: the
// count reached zero with a reschedule pending, or it was already zero
// (an unbalanced enable, reported and undone). Out of line and cold.
void preempt_enable_slow();
// The debug build's check before the decrement: an unbalanced enable.
[[gnu::cold]] void preempt_underflow();

// Re-enable; if the count reaches zero with a reschedule pending and
// interrupts on, switch now (the preemption point). One decrement and one
// branch: with the bit set (nothing pending) the result keeps its top bit.
inline void preempt_enable() {
    compiler_barrier();
    if (HIMEM_DEBUG && unlikely((preempt_count_raw() & PREEMPT_MASK) == 0)) {
        preempt_underflow();   // reports it, changes nothing
        return;
    }
    if (unlikely(!PERCPU_DEC_STAYS_NEGATIVE(preempt_count)))
        preempt_enable_slow();
}
// Re-enable without the check (the scheduler itself, irq exit).
inline void preempt_enable_no_resched() {
    compiler_barrier();
    PERCPU_DEC(preempt_count);
}

} // namespace sched
