// Context counters, as in Linux.
//
// The preempt count is per CPU (in PerCpu, one %fs access): bits 0-7 count
// preempt_disable() nesting (spinlocks included), bits 16-19 hardirq nesting,
// bits 20-23 NMI nesting. migrate_disable and pagefault_disable are per task:
// a task with migration disabled may still be preempted and sleep; it just
// comes back on the same CPU.
//
//   in_atomic()      anything that forbids sleeping is in the count
//   in_interrupt()   in a hardirq or NMI handler
//   might_sleep()    WARNs (sched.might_sleep, every call) from atomic context
//                    or with interrupts off
#pragma once

#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "lib/atomic.h"
#include "lib/types.h"

namespace sched {

constexpr u32 PREEMPT_MASK = 0xff;
constexpr u32 HARDIRQ_OFFSET = 1u << 16;
constexpr u32 HARDIRQ_MASK = 0xfu << 16;
constexpr u32 NMI_OFFSET = 1u << 20;
constexpr u32 NMI_MASK = 0xfu << 20;

inline u32 preempt_count() { return PERCPU_READ(preempt_count); }
inline bool in_atomic() { return preempt_count() != 0; }
inline bool in_hardirq() { return preempt_count() & HARDIRQ_MASK; }
inline bool in_nmi() { return preempt_count() & NMI_MASK; }
inline bool in_interrupt() { return preempt_count() & (HARDIRQ_MASK | NMI_MASK); }
inline bool in_task() { return !in_interrupt(); }

inline void preempt_disable() {
    PERCPU_INC(preempt_count);
    compiler_barrier();
}
// Re-enable; if the count reaches zero with a reschedule pending and
// interrupts on, switch now (the preemption point).
void preempt_enable();
// Re-enable without the check (the scheduler itself, irq exit).
inline void preempt_enable_no_resched() {
    compiler_barrier();
    PERCPU_DEC(preempt_count);
}

void migrate_disable();
void migrate_enable();
u32 migrate_disable_count();

void pagefault_disable();
void pagefault_enable();
bool pagefault_disabled();

void might_sleep_check(const char* file, int line);
#define might_sleep() ::sched::might_sleep_check(__FILE__, __LINE__)

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

class [[nodiscard]] MigrateGuard : Pinned {
public:
    MigrateGuard() { migrate_disable(); }
    ~MigrateGuard() { migrate_enable(); }
};

class [[nodiscard]] PagefaultGuard : Pinned {
public:
    PagefaultGuard() { pagefault_disable(); }
    ~PagefaultGuard() { pagefault_enable(); }
};

} // namespace sched
