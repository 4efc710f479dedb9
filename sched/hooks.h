// Per-task hooks: how a subsystem above the scheduler keeps its per-task
// state (sched/task_state.h) through a task's life, its context switches and
// the handlers that interrupt it.
//
//   static const sched::TaskHooks hooks = {.name = "kmap_local", .switch_out = ...};
//   sched::register_task_hooks(hooks);   // at init, before sched_init()
//
// Every member is optional. The calls, and what each may assume:
//   on_create(child, parent)   task_create(), before the child can run;
//                              parent is the creating task (null at boot)
//   on_exit(task)              task_exit(), on the exiting task itself
//   switch_out(prev, next)     the switch's prepare half: interrupts off,
//                              current() == prev
//   switch_in(prev)            its finish half: interrupts on, preemption
//                              off, current() == next; an interrupt may come
//   irq_enter() / irq_exit()   around every hardirq and exception handler and
//                              every cross-CPU callback (x86/idt.h): enter's
//                              value comes back to exit, kept per nesting level
// Hooks run in registration order on the way in to a context (on_create,
// switch_out, irq_enter) and in reverse on the way out (on_exit, switch_in,
// irq_exit), so a later subsystem nests inside an earlier one.
//
// Registration is for boot: once the scheduler runs, the switch path reads
// the registry without a lock, so a later registration is refused with a
// WARN (sched.hooks_late); so is one past the registry's size
// (sched.hooks_full). Tests that need to watch switches add theirs through
// sched/sched_testing.h.
#pragma once

#include "arch/x86/idt.h"

namespace sched {

struct Task;

struct TaskHooks {
    const char* name = "";
    void (*on_create)(Task* child, Task* parent) = nullptr;
    void (*on_exit)(Task* task) = nullptr;
    void (*switch_out)(Task* prev, Task* next) = nullptr;
    void (*switch_in)(Task* prev) = nullptr;
    u32 (*irq_enter)() = nullptr;
    void (*irq_exit)(u32 saved, x86::NestedContext kind) = nullptr;
};

// One value per registered subsystem fits in what an interrupt saves.
constexpr unsigned MAX_TASK_HOOKS = x86::NESTED_SAVED_WORDS;

// False (with a WARN saying why) when refused.
bool register_task_hooks(const TaskHooks& hooks);

} // namespace sched
