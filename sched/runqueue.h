// The scheduler's own shared state, for its files only: the per-CPU run
// queues and the helpers that every part of the scheduler uses.
//
// Locking: each CPU's run queue has a spinlock, always taken with interrupts
// off; no code holds two run-queue locks at once. A task's pi_lock is taken
// before a run-queue lock (wake-ups). A task is runnable on exactly one CPU
// (`cpu`, with `on_rq`); `on_cpu` stays set from the moment a CPU picks it
// until that CPU has switched to something else, so no other CPU runs it or
// steals it while its stack is still in use.
#pragma once

#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "lib/atomic.h"
#include "lib/list.h"
#include "lib/spinlock.h"
#include "sched/sched.h"

namespace sched::detail {

struct RunQueue {
    Spinlock lock;
    List<Task, &Task::run_node> queue;
    unsigned nr_queued = 0;       // in `queue`, not counting the running task
    Task* idle = nullptr;
    u32 balance_countdown = 0;
    // Set by __schedule for finish_task_switch: the CPU the task switched
    // away from moves to, or -1.
    int move_prev_to = -1;
    SchedStats stats{};
};

extern RunQueue rqs[x86::NR_CPUS];
extern bool running;

inline RunQueue& this_rq() { return rqs[x86::this_cpu_index()]; }

// Whether this CPU schedules yet: an AP in its pre-scheduler idle loop has
// no task to switch away from.
inline bool cpu_scheduling() { return running && current() && this_rq().idle; }

// The flag is the truth, and any CPU may set it; the preempt count's
// inverted bit (sched/preempt.h) mirrors it for this CPU's preempt_enable()
// and only this CPU changes it: at once for a reschedule of this CPU, for
// another CPU when its reschedule IPI or its tick folds the flag in.
inline void fold_need_resched() {
    if (PERCPU_READ(need_resched))
        PERCPU_AND(preempt_count, ~PREEMPT_NEED_RESCHED);
}
inline void set_need_resched(unsigned cpu) {
    write_once(x86::cpu_data[cpu].need_resched, 1u, MemoryOrder::Release);
    if (cpu == x86::this_cpu_index())
        PERCPU_AND(preempt_count, ~PREEMPT_NEED_RESCHED);
}
// Interrupts off (the switch): nothing pending on this CPU any more.
inline void clear_need_resched() {
    write_once(x86::this_cpu()->need_resched, 0u);
    PERCPU_OR(preempt_count, PREEMPT_NEED_RESCHED);
}
inline bool need_resched() { return PERCPU_READ(need_resched) != 0; }
// need_resched, and the reschedule IPI if it is another CPU.
void resched_cpu(unsigned cpu);

// How busy a CPU is: tasks waiting plus the one running (unless idle).
unsigned load_of(unsigned cpu);
// Where a waking task goes: its own CPU if migration is off, else the least
// loaded allowed one.
unsigned select_cpu(const Task* p);
// Take one task another CPU could run; interrupts off (sched/balance.cpp).
bool steal_one();

// The switch (sched/switch.cpp).
void __schedule(bool preempt);
// Whether the current context may switch: not atomic, interrupts on.
inline bool may_switch() { return preempt_count() == 0 && x86::irqs_enabled(); }

// Timed sleepers whose time has come, woken from CPU 0's tick (sched/sleep.cpp).
void advance_jiffies();

// What the arch layer calls (installed by sched_init): the tick and the
// reschedule IPI (sched/tick.cpp), preemption at interrupt exit
// (sched/switch.cpp).
void tick(x86::InterruptFrame& frame);
void reschedule_ipi();
void preempt_from_irq();

} // namespace sched::detail
