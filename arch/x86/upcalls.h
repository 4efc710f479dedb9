// What arch/x86 calls in the scheduler, which it may not include: the
// scheduler registers these once at boot (sched_init). A second registration
// is refused with a WARN (x86.upcalls_taken) instead of replacing the first.
#pragma once

#include "arch/x86/interrupt_frame.h"

namespace x86 {

struct SchedulerUpcalls {
    // Every timer tick of every CPU, interrupts off.
    void (*timer_tick)(InterruptFrame& frame) = nullptr;
    // The reschedule IPI.
    void (*reschedule)() = nullptr;
    // Interrupt exit, interrupts off, when the interrupted code had them on,
    // the preempt count is back to zero and a reschedule is pending.
    void (*irq_exit_preempt)() = nullptr;
    // Prints "Task: <name> ..." in fatal reports.
    void (*describe_task)() = nullptr;
};

void set_scheduler_upcalls(const SchedulerUpcalls& upcalls);

namespace detail {
inline const SchedulerUpcalls* upcalls = nullptr;
// The registered upcalls (none before sched_init: every member null).
inline const SchedulerUpcalls& scheduler_upcalls() {
    static constexpr SchedulerUpcalls none{};
    const SchedulerUpcalls* u = __atomic_load_n(&upcalls, __ATOMIC_ACQUIRE);
    return u ? *u : none;
}
} // namespace detail

} // namespace x86
