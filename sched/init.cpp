// Bringing the scheduler up: the boot context becomes `init`, each CPU gets
// its idle task (on APs, the boot context becomes it), and the arch hooks
// into the scheduler are installed.
#include "sched/runqueue.h"

#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/upcalls.h"
#include "lib/bug.h"
#include "lib/format.h"
#include "lib/printk.h"
#include "sched/sched_testing.h"

namespace sched {

using namespace detail;

namespace {

bool idle_poll;   // set before the scheduler starts, read-only after

void idle_loop() {
    for (;;) {
        x86::cli();
        if (this_rq().nr_queued || need_resched()) {
            x86::sti();
            __schedule(false);
            continue;
        }
        if (steal_one()) {
            x86::sti();
            __schedule(false);
            continue;
        }
        if (idle_poll) {
            x86::sti();
            x86::pause();   // a wake-up is an IPI or a queued task: seen next time round
            continue;
        }
        x86::safe_halt();   // no wake-up slips between
    }
}

void idle_task_fn(void*) { idle_loop(); }

void describe_task() {
    const Task* t = current();
    if (!t)
        return;
    printk("Task: %s (CPU %u, preempt count %#x, migrate_disable %u)\n", t->name,
           x86::this_cpu_index(), preempt_count(), t->migrate_disable);
}

// Make the code running on this CPU (boot or AP context) a task.
Task* adopt_current(const char* name, bool idle) {
    Task* t = task_alloc();
    BUG_ON(!t);
    lib::format(t->name, sizeof(t->name), "%s", name);
    t->is_idle = idle;
    t->cpu = x86::this_cpu_index();
    t->allowed = x86::cpu_bit(t->cpu);
    t->on_rq = true;
    t->on_cpu.store(1);
    t->slice = SLICE_TICKS;
    t->ran_on = x86::cpu_bit(t->cpu);
    x86::this_cpu()->current = t;
    return t;
}

void become_idle_on_ap(void*) {
    char name[16];
    lib::format(name, sizeof(name), "idle/%u", x86::this_cpu_index());
    rqs[x86::this_cpu_index()].idle = adopt_current(name, true);
    idle_loop();
}

} // namespace

void sched_init(const SchedInit& config) {
    idle_poll = config.idle_poll;
    if (idle_poll)
        printk("sched: idle=poll: idle CPUs poll with pause instead of halting\n");
    Task* init = adopt_current("init", false);
    init->allowed = ~0u;
    KthreadOptions opts;
    opts.allowed = x86::cpu_bit(0);
    opts.cpu = 0;
    // Not started: the idle task lives outside the queue.
    Task* idle0 = task_create(idle_task_fn, nullptr, "idle/0", opts);
    BUG_ON(!idle0);
    idle0->is_idle = true;
    idle0->on_rq = true;
    idle0->cpu = 0;
    rqs[0].idle = idle0;
    static constexpr x86::SchedulerUpcalls upcalls{
        .timer_tick = tick,
        .reschedule = reschedule_ipi,
        .irq_exit_preempt = preempt_from_irq,
        .describe_task = describe_task,
    };
    x86::set_scheduler_upcalls(upcalls);
    running = true;
    for (unsigned cpu = 1; cpu < x86::NR_CPUS; ++cpu)
        if (x86::cpu_online(cpu))
            x86::smp_run_on_idle(cpu, become_idle_on_ap, nullptr);
    for (unsigned cpu = 1; cpu < x86::NR_CPUS; ++cpu) {
        if (!x86::cpu_online(cpu))
            continue;
        while (!read_once(rqs[cpu].idle, MemoryOrder::Acquire))
            x86::pause();
    }
    printk("sched: running on %u CPU(s), time slice %u ticks, HZ=%u\n", x86::num_online_cpus(),
           SLICE_TICKS, x86::HZ);
}

} // namespace sched
