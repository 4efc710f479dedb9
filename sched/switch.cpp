// The context switch: __schedule and its two halves with the subsystems'
// hooks (docs/scheduling.md), the preemption points that lead to it, and
// schedule()/yield() with their rules for atomic context.
#include "sched/runqueue.h"

#include "arch/x86/cpu.h"
#include "lib/bug.h"
#include "sched/hooks_internal.h"

extern "C" sched::Task* switch_to(sched::Task* prev, sched::Task* next);

namespace sched {

using namespace detail;

namespace {

void run_prepare_hooks(Task* prev, Task* next) { task_hooks.switch_out.call(prev, next); }

void run_finish_hooks(Task* prev) { task_hooks.switch_in.call_reversed(prev); }

} // namespace

// The second half of a switch, on the new task's stack. Entered with
// interrupts off and the preempt count at 1 (from __schedule).
void finish_task_switch(Task* last) {
    RunQueue& rq = this_rq();
    const int move_to = rq.move_prev_to;
    rq.move_prev_to = -1;
    const bool dead = last->state == TaskState::Dead;
    // After this store another CPU may run `last` (its stack is ours no more).
    last->on_cpu.store(0, MemoryOrder::Release);
    if (move_to >= 0)
        enqueue(static_cast<unsigned>(move_to), last);
    x86::sti();
    // Interrupts on, preemption off: the finish hooks (kmap_local's restore).
    run_finish_hooks(last);
    if (dead && last->detached)
        task_free(last);
}

namespace detail {

void __schedule(bool preempt) {
    preempt_disable();
    const platform::IrqFlags flags = x86::irq_save();
    RunQueue& rq = this_rq();
    const unsigned me = x86::this_cpu_index();
    rq.lock.lock();
    clear_need_resched();

    Task* prev = current();
    // Preempted, a task is still runnable, whatever state it was about to
    // sleep in; only a task that calls schedule() itself leaves the queue.
    const bool runnable = preempt || prev->state == TaskState::Runnable;
    int move_to = -1;
    if (prev->migrate_to >= 0) {
        // A runnable one goes to its new CPU (finish_task_switch queues it
        // there, on_rq all along, so a waker leaves it alone); a sleeper's
        // wake-up will pick an allowed CPU by itself.
        if (runnable)
            move_to = prev->migrate_to;
        prev->migrate_to = -1;
    }
    if (!runnable) {
        prev->on_rq = false;   // sleeping or dead: off the queue
    } else if (move_to < 0 && !prev->is_idle) {
        rq.queue.push_back(*prev);
        ++rq.nr_queued;
    }
    rq.move_prev_to = move_to;
    Task* next = rq.queue.pop_front();
    if (next)
        --rq.nr_queued;
    else
        next = rq.idle;

    if (next == prev) {
        x86::pause();   // a loop that waits by yielding lets the other vCPUs run (docs/smp.md)
        rq.lock.unlock();
        x86::irq_restore(flags);
        preempt_enable_no_resched();
        return;
    }
    // The task may still be switching out on the CPU it last ran on.
    while (next->on_cpu.load(MemoryOrder::Acquire))
        x86::pause();
    next->on_cpu.store(1, MemoryOrder::Relaxed);
    next->cpu = me;
    next->slice = SLICE_TICKS;
    ++next->switches_in;
    next->ran_on |= x86::cpu_bit(me);
    if (preempt)
        ++prev->preemptions;
    ++rq.stats.switches;

    run_prepare_hooks(prev, next);   // interrupts off; current() is still prev
    x86::this_cpu()->current = next;
    rq.lock.unlock();                // preempt count back to 1; interrupts stay off

    Task* last = switch_to(prev, next);
    // Back on this task's stack, maybe much later and on another CPU.
    finish_task_switch(last);
    // A task comes back here with interrupts on; restore the caller's state.
    if (!(flags & x86::EFLAGS_IF))
        x86::cli();
    preempt_enable_no_resched();
}


// Interrupt exit: called with interrupts off when the preempt count is zero,
// a reschedule is pending and the interrupted code had interrupts on.
void preempt_from_irq() {
    if (!cpu_scheduling())
        return;
    x86::sti();
    __schedule(true);
    x86::cli();
}

} // namespace detail



// schedule() where it is not allowed (docs/scheduling.md): reported, and then
// - from an interrupt handler, or by a task that is still runnable (a yield
//   in disguise), refused: nothing needed the switch;
// - by a task that marked itself asleep, done, as Linux's schedule-bug path
//   does, since refusing would leave it spinning: the caller's preempt count
//   is taken off this CPU for the next task (which starts with a clean count)
//   and handed back when the caller runs again, on the same CPU (migration
//   stays off meanwhile, so a spinlock it holds is released by its owner).
namespace {

[[gnu::cold, gnu::noinline]] void schedule_while_atomic() {
    const u32 count = preempt_count();
    Task* me = current();
    if (count == 0) {
        // Interrupts off only: __schedule restores the caller's flag.
        WARN("sched.schedule_while_atomic", true,
             "scheduling while atomic: interrupts off, task %s", me->name);
        __schedule(false);
        return;
    }
    WARN("sched.schedule_while_atomic", true,
         "scheduling while atomic: preempt count %#x, interrupts %s, task %s (%s)", count,
         x86::irqs_enabled() ? "on" : "off", me->name,
         in_interrupt() || me->state == TaskState::Runnable ? "not switching"
                                                            : "switching with the count set aside");
    if (in_interrupt() || me->state == TaskState::Runnable)
        return;
    ++me->migrate_disable;
    PERCPU_ADD(preempt_count, -count);
    __schedule(false);
    PERCPU_ADD(preempt_count, count);
    --me->migrate_disable;
}

// preempt_enable() reached zero with a reschedule pending.
[[gnu::noinline]] void preempt_schedule() {
    if (x86::irqs_enabled() && cpu_scheduling()) {
        ++this_rq().stats.preemptions_enable;
        __schedule(true);
    }
}

} // namespace

void schedule() {
    if (unlikely(!may_switch())) {
        schedule_while_atomic();
        return;
    }
    __schedule(false);
}


// Sleeping and yielding where it is not allowed WARN (might_sleep) and then
// do not switch: a switch would hand this CPU's preempt count, and any
// spinlock held, to whichever task runs next. A yield is only a hint, and a
// sleep that returns early is the lesser damage; the WARN names the caller.

void yield() {
    might_sleep();
    if (may_switch())
        schedule();
}

void preempt_underflow() {
    WARN_ONCE("sched.preempt_underflow", true,
              "preempt_enable() without a matching preempt_disable()");
}

// preempt_enable()'s decrement left the reschedule bit clear. The count's
// low bits say why.
void preempt_enable_slow() {
    const u32 raw = preempt_count_raw();
    if ((raw & PREEMPT_MASK) == PREEMPT_MASK) {
        // Unbalanced, seen after the decrement (from a count of zero with
        // nothing pending): undone. From zero with a reschedule pending it
        // wraps unseen, as in Linux without DEBUG_PREEMPT; the debug build
        // checks before every decrement instead.
        PERCPU_INC(preempt_count);
        preempt_underflow();
        return;
    }
    if (raw != 0)
        return;   // still nested; the outermost enable takes the reschedule
    if (need_resched()) {
        preempt_schedule();
        return;
    }
    // The bit was clear with nothing pending (a count set to zero by hand,
    // as the test runner does): set it again, unless a reschedule comes in
    // meanwhile - interrupts off, and a remote one arrives by IPI.
    const platform::IrqFlags flags = x86::irq_save();
    if (!need_resched())
        PERCPU_OR(preempt_count, PREEMPT_NEED_RESCHED);
    x86::irq_restore(flags);
}

} // namespace sched
