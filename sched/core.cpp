// The scheduler core: run queues, __schedule and the switch path, wake-ups,
// the tick, load balancing, idle tasks and timed sleeps.
//
// Locking: each CPU's run queue has a spinlock, always taken with interrupts
// off; no code holds two run-queue locks at once. A task's pi_lock is taken
// before a run-queue lock (wake-ups). A task is runnable on exactly one CPU
// (`cpu`, with `on_rq`); `on_cpu` stays set from the moment a CPU picks it
// until that CPU has switched to something else, so no other CPU runs it or
// steals it while its stack is still in use.
#include "sched/sched.h"

#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/smp.h"
#include "lib/bug.h"
#include "lib/format.h"
#include "lib/inject.h"
#include "lib/printk.h"
#include "sched/hooks_internal.h"
#include "sched/sched_testing.h"

extern "C" sched::Task* switch_to(sched::Task* prev, sched::Task* next);

namespace sched {
namespace {

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

RunQueue rqs[x86::NR_CPUS];
bool running = false;

constexpr unsigned MAX_TICK_OBSERVERS = 4;
Atomic<TickObserver> tick_observers[MAX_TICK_OBSERVERS];

Atomic<u32> jiffy_count{0};
Spinlock sleepers_lock;
List<Task, &Task::sleep_node> sleepers;

constexpr u32 BALANCE_TICKS = 4;

RunQueue& this_rq() { return rqs[x86::this_cpu_index()]; }

// Whether this CPU schedules yet: an AP in its pre-scheduler idle loop has
// no task to switch away from.
bool cpu_scheduling() { return running && current() && this_rq().idle; }

void set_need_resched(unsigned cpu) {
    write_once(x86::cpu_data[cpu].need_resched, 1u, MemoryOrder::Release);
}
bool need_resched() { return PERCPU_READ(need_resched) != 0; }

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

} // namespace

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

namespace {

// Take one task another CPU could run; interrupts off.
bool steal_one() {
    const unsigned me = x86::this_cpu_index();
    unsigned busiest = me;
    unsigned most = 0;
    for (unsigned c = 0; c < x86::NR_CPUS; ++c) {
        if (c == me || !x86::cpu_online(c))
            continue;
        const unsigned q = read_once(rqs[c].nr_queued);
        if (q > most) {
            most = q;
            busiest = c;
        }
    }
    // Worth it only if the busiest CPU has at least two more to run than we do.
    if (busiest == me || most == 0 || load_of(busiest) < load_of(me) + 2)
        return false;
    Task* stolen = nullptr;
    {
        RunQueue& from = rqs[busiest];
        from.lock.lock();
        for (Task& t : from.queue) {
            // Never a pinned task (not allowed here), one with migration
            // disabled, or one whose stack is still in use.
            if (t.migrate_disable || !(t.allowed & x86::cpu_bit(me)) || t.on_cpu.load() || t.is_idle)
                continue;
            stolen = &t;
            break;
        }
        if (stolen) {
            from.queue.remove(*stolen);
            --from.nr_queued;
        }
        from.lock.unlock();
    }
    if (!stolen)
        return false;
    RunQueue& rq = rqs[me];
    rq.lock.lock();
    stolen->cpu = me;
    rq.queue.push_back(*stolen);
    ++rq.nr_queued;
    ++rq.stats.migrations;
    rq.lock.unlock();
    set_need_resched(me);
    return true;
}

void run_prepare_hooks(Task* prev, Task* next) {
    detail::for_each_hooks([&](const TaskHooks& h) {
        if (h.switch_out)
            h.switch_out(prev, next);
    });
}

void run_finish_hooks(Task* prev) {
    detail::for_each_hooks_reversed([&](const TaskHooks& h) {
        if (h.switch_in)
            h.switch_in(prev);
    });
}

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

namespace {

void __schedule(bool preempt) {
    preempt_disable();
    const platform::IrqFlags flags = x86::irq_save();
    RunQueue& rq = this_rq();
    const unsigned me = x86::this_cpu_index();
    rq.lock.lock();
    write_once(x86::cpu_data[me].need_resched, 0u);

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
        x86::safe_halt();   // no wake-up slips between
    }
}

void wake_sleepers() {
    const u32 now = jiffy_count.load();
    for (;;) {
        Task* due = nullptr;
        {
            SpinlockGuard guard(sleepers_lock);
            for (Task& t : sleepers) {
                if (static_cast<i32>(now - t.wake_tick) >= 0) {
                    due = &t;
                    sleepers.remove(t);
                    break;
                }
            }
        }
        if (!due)
            return;
        wake_up_process(due);
    }
}

void tick(x86::InterruptFrame& frame) {
    const unsigned me = x86::this_cpu_index();
    if (me == 0) {
        jiffy_count.fetch_add(1);
        wake_sleepers();
    }
    RunQueue& rq = rqs[me];
    Task* t = current();
    if (t && !t->is_idle && t->slice && --t->slice == 0) {
        t->slice = SLICE_TICKS;
        if (read_once(rq.nr_queued)) {
            set_need_resched(me);
            ++rq.stats.preemptions_tick;
        }
    }
    if (++rq.balance_countdown >= BALANCE_TICKS) {
        rq.balance_countdown = 0;
        steal_one();
    }
    for (auto& o : tick_observers)
        if (TickObserver f = o.load(MemoryOrder::Acquire))
            f(frame);
}

void reschedule_ipi() { set_need_resched(x86::this_cpu_index()); }

// Interrupt exit: called with interrupts off when the preempt count is zero,
// a reschedule is pending and the interrupted code had interrupts on.
void preempt_from_irq() {
    if (!cpu_scheduling())
        return;
    x86::sti();
    __schedule(true);
    x86::cli();
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

// schedule() where it is not allowed (docs/scheduling.md): reported, and then
// - from an interrupt handler, or by a task that is still runnable (a yield
//   in disguise), refused: nothing needed the switch;
// - by a task that marked itself asleep, done, as Linux's schedule-bug path
//   does, since refusing would leave it spinning: the caller's preempt count
//   is taken off this CPU for the next task (which starts with a clean count)
//   and handed back when the caller runs again, on the same CPU (migration
//   stays off meanwhile, so a spinlock it holds is released by its owner).
void schedule() {
    const u32 count = preempt_count();
    if (likely(count == 0)) {
        if (!x86::irqs_enabled())
            WARN("sched.schedule_while_atomic", true,
                 "scheduling while atomic: interrupts off, task %s", current()->name);
        __schedule(false);
        return;
    }
    Task* me = current();
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

// Sleeping and yielding where it is not allowed WARN (might_sleep) and then
// do not switch: a switch would hand this CPU's preempt count, and any
// spinlock held, to whichever task runs next. A yield is only a hint, and a
// sleep that returns early is the lesser damage; the WARN names the caller.
static bool may_switch() { return preempt_count() == 0 && x86::irqs_enabled(); }

void yield() {
    might_sleep();
    if (may_switch())
        schedule();
}

void preempt_enable() {
    compiler_barrier();
    if (WARN_ONCE("sched.preempt_underflow", (preempt_count() & PREEMPT_MASK) == 0,
                  "preempt_enable() without a matching preempt_disable()"))
        return;
    PERCPU_DEC(preempt_count);
    if (preempt_count() == 0 && need_resched() && x86::irqs_enabled() && cpu_scheduling()) {
        ++this_rq().stats.preemptions_enable;
        __schedule(true);
    }
}

bool wake_up_process(Task* p) {
    const platform::IrqFlags flags = p->pi_lock.lock_irqsave();
    memory_barrier();   // pairs with set_current_sleeping()
    if (p->state != TaskState::Sleeping) {
        p->pi_lock.unlock_irqrestore(flags);
        return false;
    }
    // Still counted on its CPU (it has not switched out yet, or it is queued):
    // making it runnable is enough. Checked under that CPU's run-queue lock,
    // which __schedule holds while it takes a sleeping task off.
    for (;;) {
        RunQueue& rq = rqs[p->cpu];
        rq.lock.lock();
        if (&rq != &rqs[p->cpu]) {
            rq.lock.unlock();
            continue;
        }
        p->state = TaskState::Runnable;
        const bool still_on_rq = p->on_rq;
        rq.lock.unlock();
        if (still_on_rq) {
            p->pi_lock.unlock_irqrestore(flags);
            return true;
        }
        break;
    }
    // Off every queue: wait until its last CPU is done with its stack.
    while (p->on_cpu.load(MemoryOrder::Acquire))
        x86::pause();
    enqueue(select_cpu(p), p);
    p->pi_lock.unlock_irqrestore(flags);
    return true;
}

void set_current_sleeping() {
    current()->state = TaskState::Sleeping;
    memory_barrier();
}

void set_current_running() { current()->state = TaskState::Runnable; }

u32 jiffies() { return jiffy_count.load(); }

void sleep_ticks(u32 ticks) {
    might_sleep();
    if (!may_switch())
        return;
    Task* me = current();
    {
        SpinlockIrqsaveGuard guard(sleepers_lock);
        me->wake_tick = jiffy_count.load() + (ticks ? ticks : 1);
        sleepers.push_back(*me);
        set_current_sleeping();
    }
    schedule();
    set_current_running();
}

constinit const InjectPoint set_cpus_allowed_chosen{"sched.set_cpus_allowed_chosen"};

void set_cpus_allowed(x86::CpuMask mask) {
    Task* me = current();
    mask &= x86::cpu_online_mask.load();
    if (WARN_ONCE("sched.empty_affinity", mask == 0, "set_cpus_allowed: no online CPU in the mask"))
        return;
    bool move;
    {
        // The mask, the CPU it is checked against and the target agree.
        PreemptGuard guard;
        me->allowed = mask;
        move = !(mask & x86::cpu_bit(me->cpu));
        if (move && me->migrate_disable) {
            me->affinity_pending = true;   // migrate_enable() applies it
            return;
        }
        if (move)
            me->migrate_to = static_cast<int>(x86::first_cpu(mask));
    }
    // A preemption from here on (a test forces one) moves the task just as
    // the schedule() below does.
    inject_point(set_cpus_allowed_chosen);
    if (!move || me->migrate_to < 0)
        return;
    if (may_switch())
        schedule();
    else
        set_need_resched(x86::this_cpu_index());   // atomic: at its next preemption point
}

// The current task's migration was just re-enabled and its affinity changed
// meanwhile: if its CPU is no longer allowed, move now, or at the next
// preemption point if it cannot switch now (Linux's migrate_enable does the same).
void apply_pending_affinity() {
    Task* me = current();
    PreemptGuard guard;
    me->affinity_pending = false;
    const x86::CpuMask allowed = me->allowed & x86::cpu_online_mask.load();
    if (allowed && !(allowed & x86::cpu_bit(me->cpu))) {
        me->migrate_to = static_cast<int>(x86::first_cpu(allowed));
        set_need_resched(x86::this_cpu_index());
    }
}

void add_tick_observer(TickObserver observer) {
    for (auto& o : tick_observers) {
        TickObserver expected = nullptr;
        if (o.compare_exchange(expected, observer))
            return;
    }
    BUG("sched.too_many_tick_observers", "no room for another tick observer");
}

void remove_tick_observer(TickObserver observer) {
    for (auto& o : tick_observers) {
        TickObserver expected = observer;
        o.compare_exchange(expected, nullptr);
    }
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

void sched_init() {
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
    x86::set_timer_tick_hook(tick);
    x86::set_reschedule_hook(reschedule_ipi);
    x86::set_irq_exit_preempt_hook(preempt_from_irq);
    x86::set_task_describer(describe_task);
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
