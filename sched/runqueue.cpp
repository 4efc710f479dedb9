// The per-CPU run queues: queueing a task on a CPU, choosing the CPU for a
// waking task, and what the run queues say about themselves.
#include "sched/runqueue.h"

#include "lib/bug.h"
#include "lib/printk.h"

namespace sched {

using namespace detail;

namespace detail {

RunQueue rqs[x86::NR_CPUS];
bool running = false;

void resched_cpu(unsigned cpu) {
    set_need_resched(cpu);
    if (cpu != x86::this_cpu_index())
        x86::smp_send_reschedule(cpu);
}

// How busy a CPU is: tasks waiting plus the one running (unless idle).
unsigned load_of(unsigned cpu) {
    const auto* t = static_cast<const Task*>(read_once(x86::cpu_data[cpu].current));
    return read_once(rqs[cpu].nr_queued) + (t && !t->is_idle ? 1 : 0);
}

unsigned select_cpu(const Task* p) {
    if (p->migrate_disable)
        return p->cpu;   // it promised to come back here
    const x86::CpuMask allowed = p->allowed & x86::cpu_online_mask.load();
    if (!allowed)
        return p->cpu;
    unsigned best = (allowed & x86::cpu_bit(p->cpu)) ? p->cpu : x86::first_cpu(allowed);
    unsigned best_load = load_of(best);
    for (unsigned c = 0; c < x86::NR_CPUS && best_load > 0; ++c) {
        if ((allowed & x86::cpu_bit(c)) && load_of(c) < best_load) {
            best = c;
            best_load = load_of(c);
        }
    }
    return best;
}

} // namespace detail

void enqueue(unsigned cpu, Task* p) {
    RunQueue& rq = rqs[cpu];
    const platform::IrqFlags flags = rq.lock.lock_irqsave();
    // On two queues, two CPUs would run one stack; refuse rather than corrupt.
    if (WARN("sched.double_enqueue", p->run_node.is_linked(),
             "%s is queued already (CPU %u); not queued again on CPU %u", p->name, p->cpu, cpu)) {
        rq.lock.unlock_irqrestore(flags);
        return;
    }
    p->cpu = cpu;
    p->on_rq = true;
    rq.queue.push_back(*p);
    ++rq.nr_queued;
    rq.lock.unlock_irqrestore(flags);
    resched_cpu(cpu);
}

void wake_new_task(Task* p, int cpu) {
    enqueue(cpu >= 0 ? static_cast<unsigned>(cpu) : select_cpu(p), p);
}

void dump_runqueues() {
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c) {
        RunQueue& rq = rqs[c];
        printk("  rq %u: nr_queued %u, need_resched %u, current %s, queue:", c, rq.nr_queued,
               x86::cpu_data[c].need_resched,
               x86::cpu_data[c].current ? static_cast<Task*>(x86::cpu_data[c].current)->name : "-");
        unsigned n = 0;
        for (Task& t : rq.queue) {
            printk(" %s", t.name);
            if (++n > 64)
                break;
        }
        printk("\n");
    }
}

SchedStats sched_stats(unsigned cpu) { return rqs[cpu].stats; }
unsigned nr_queued(unsigned cpu) { return rqs[cpu].nr_queued; }
bool sched_running() { return running; }

} // namespace sched
