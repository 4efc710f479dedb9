// Context counters, as in Linux.
//
// The preempt count is per CPU (in PerCpu, one %fs access): bits 0-7 count
// preempt_disable() nesting (spinlocks included), bits 16-19 hardirq nesting,
// bits 20-23 NMI nesting. migrate_disable and pagefault_disable are per task:
// a task with migration disabled may still be preempted and sleep; it just
// comes back on the same CPU.
//
//   in_atomic()      anything that forbids sleeping is in the count
//   preemptible()    the count is zero and interrupts are on
//   in_interrupt()   in a hardirq or NMI handler
//   might_sleep()    WARNs (sched.might_sleep, every call) from atomic context
//                    or with interrupts off
#pragma once

#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "lib/atomic.h"
#include "lib/types.h"
#include "sched/preempt_count.h"

namespace sched {

// migrate_disable/enable and pagefault_disable/enable work on the task:
// sched/task.h, which this header includes at its end.

// might_sleep(): a WARN (sched.might_sleep, every call) from atomic context
// or with interrupts off. The test is inline; the report, with the caller's
// file and line, is a cold call made only when it fails.
[[gnu::cold]] void might_sleep_report(const char* file, int line);
inline bool might_sleep_fails() { return preempt_count() != 0 || !x86::irqs_enabled(); }
void might_sleep_check(const char* file, int line);   // the same, out of line
#define might_sleep()                                                             \
    do {                                                                          \
        ::sched::observe_context(::sched::ContextEvent::MaySleep);                \
        if (unlikely(::sched::might_sleep_fails()))                               \
            ::sched::might_sleep_report(__FILE__, __LINE__);                      \
    } while (0)
// The same for a caller that has read the interrupt flag already and needs
// it again (kmap: the pool lock's own test), so the flag is read once.
#define might_sleep_irqs(irqs_on)                                                 \
    do {                                                                          \
        ::sched::observe_context(::sched::ContextEvent::MaySleep);                \
        if (unlikely(::sched::preempt_count() != 0 || !(irqs_on)))                \
            ::sched::might_sleep_report(__FILE__, __LINE__);                      \
    } while (0)

// Whether this task could be preempted here (observed, like in_atomic()).
inline bool preemptible() {
    observe_context(ContextEvent::Preemptible);
    return preempt_count() == 0 && x86::irqs_enabled();
}

// This CPU's index for code that relies on staying on it: WARNs
// (percpu.preemptible_access) when the caller could be moved right after
// the read - task context, preemption and migration enabled, interrupts on -
// as Linux's DEBUG_PREEMPT check of smp_processor_id() does. Always on.
unsigned smp_processor_id_checked(const char* caller);
#define smp_processor_id() ::sched::smp_processor_id_checked(__func__)

class [[nodiscard]] PreemptGuard : Pinned {
public:
    PreemptGuard() { preempt_disable(); }
    ~PreemptGuard() { preempt_enable(); }
};

} // namespace sched

// The task-based counters need the task (which needs this header first).
#include "sched/task.h"
