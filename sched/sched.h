// The scheduler: per-CPU run queues with round-robin time slices, preemption
// at the tick and at preempt_enable(), wake-ups across CPUs, load balancing,
// and the context-switch path with its two hooks.
//
// The switch path (docs/scheduling.md):
//   __schedule()       preemption off, interrupts off, this CPU's rq locked
//     prepare_switch(prev, next)      interrupts OFF; prev's stack still live
//     switch_to(prev, next)           assembly: callee-saved registers and %esp
//   finish_task_switch(last)          on next's stack
//     interrupts ON, preemption still off
//     finish_switch(last)             interrupts ON, preemption off: an
//                                     interrupt may arrive here (seeds/003)
#pragma once

#include "arch/x86/interrupt_frame.h"
#include "sched/task.h"

namespace sched {

struct SchedInit {
    // idle=poll: idle CPUs poll with `pause` instead of halting. Under
    // QEMU's -icount an SMP boot then repeats exactly: a halt of every vCPU
    // hands the clock to QEMU's main loop, whose timing is the host's
    // (docs/smp.md, "When two boots differ").
    bool idle_poll = false;
};
void sched_init(const SchedInit& init = {});   // boot CPU: init, CPU 0's idle task, the hooks
bool sched_running();

void schedule();
bool wake_up_process(Task* task);
// Both may sleep: from atomic context or with interrupts off they WARN
// (sched.might_sleep) and return without switching.
void yield();
// Sleep for at least `ticks` timer ticks (1/HZ s each).
void sleep_ticks(u32 ticks);
u32 jiffies();

// The two halves of a context switch call the subsystems' switch hooks
// (sched/hooks.h): switch_out in prepare_switch, switch_in in finish_switch.

// Counters, for tests.
struct SchedStats {
    u32 switches;
    u32 preemptions_tick;
    u32 preemptions_enable;   // switches taken at preempt_enable()
    u32 migrations;
};
SchedStats sched_stats(unsigned cpu);
// Each CPU's queue (the watchdog's report). Reads without locks.
void dump_runqueues();
unsigned nr_queued(unsigned cpu);

// internal, for sched/task.cpp and sched/preempt.cpp
void finish_task_switch(Task* last);
void apply_pending_affinity();
void wake_new_task(Task* task, int cpu);
void enqueue(unsigned cpu, Task* task);

} // namespace sched
