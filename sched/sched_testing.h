// Test-only access to the scheduler (sched/sched.h, sched/hooks.h).
#pragma once

#include "arch/x86/interrupt_frame.h"
#include "lib/inject.h"
#include "sched/hooks.h"

namespace sched {

// set_cpus_allowed(): the new CPU is chosen (Task::migrate_to) and the switch
// that moves the task is still to come. A test forces a preemption here.
extern const InjectPoint set_cpus_allowed_chosen;

// Called on every timer tick of every CPU (after the scheduler's own work),
// in interrupt context: the test watchdog, interrupt-context test mappers.
using TickObserver = void (*)(x86::InterruptFrame& frame);
void add_tick_observer(TickObserver observer);
void remove_tick_observer(TickObserver observer);

struct Task;

namespace testing {

// Every allocated task, in the task pool's order (what a debugger's
// `himem tasks` walks), without a lock: for a caller that knows no task is
// being created or freed meanwhile (tests/kernel/gdb_dump_test.cpp).
void for_each_task(void (*fn)(Task* task, void* arg), void* arg);

// A test's own switch hooks (switch_out, switch_in; nothing else), after
// the registered subsystems', for the life of the guard: registration after
// the scheduler started, which the production API refuses. Guards nest
// LIFO. A CPU that was already inside the hooks when the guard goes may still
// call them once.
class [[nodiscard]] TaskHooksGuard : Pinned {
public:
    explicit TaskHooksGuard(const TaskHooks& hooks);
    ~TaskHooksGuard();

private:
    const TaskHooks& m_hooks;
    bool m_added;
};

// A registered subsystem's life and switch hooks swapped for others (an
// instrumented variant) for the life of the guard; each swap is one atomic
// store, so a switch sees the one or the other. Interrupt hooks stay.
class [[nodiscard]] TaskHooksReplacement : Pinned {
public:
    TaskHooksReplacement(const TaskHooks& registered, const TaskHooks& replacement);
    ~TaskHooksReplacement();

private:
    const TaskHooks& m_registered;
    const TaskHooks& m_replacement;
};

} // namespace testing
} // namespace sched
