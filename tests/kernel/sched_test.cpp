// The scheduler: preemption at the tick and at preempt_enable(), migration
// that happens (and does not, for a migrate-disabled task), sleeping
// primitives under contention, might_sleep, and the two halves of the switch.
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "sched/mutex.h"
#include "lib/inject_testing.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"
#include "tests/ktest/ktest.h"

using namespace sched;

KTEST_SUITE(sched);

namespace {

unsigned ncpus() { return x86::num_online_cpus(); }

KthreadOptions pinned(unsigned cpu) {
    KthreadOptions o;
    o.allowed = x86::cpu_bit(cpu);
    o.cpu = static_cast<int>(cpu);
    return o;
}

struct Spinner {
    Atomic<u32> stop{0};
    Atomic<u32> count[2];
};

void spin_and_count(void* arg) {
    auto* s = static_cast<Spinner*>(arg);
    const unsigned which = current()->name[5] - '0';   // "spin-0", "spin-1"
    while (!s->stop.load(MemoryOrder::Relaxed)) {
        s->count[which].fetch_add(1, MemoryOrder::Relaxed);
        x86::pause();
    }
}

} // namespace

KTEST(sched, tick_preempts_cpu_bound_threads_on_one_cpu) {
    static Spinner s;
    s.stop.store(0);
    s.count[0].store(0);
    s.count[1].store(0);
    // Both on this CPU (0), never yielding: only the tick can switch them.
    Task* a = kthread_create(spin_and_count, &s, "spin-0", pinned(0));
    Task* b = kthread_create(spin_and_count, &s, "spin-1", pinned(0));
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    const u32 start = jiffies();
    sleep_ticks(20);   // 10 time slices
    const u32 c0 = s.count[0].load(), c1 = s.count[1].load();
    const u32 ticks = jiffies() - start;
    s.stop.store(1);
    kthread_join(a);
    kthread_join(b);
    EXPECT_GT(c0, 0u);
    EXPECT_GT(c1, 0u);
    EXPECT_LE(ticks, 60u);   // bounded: we got the CPU back too
    ktest_ctx.diag("after %u ticks: %u and %u iterations", ticks, c0, c1);
}

namespace {
struct Roamer {
    u64 end_ns;
    Atomic<u32> done{0};
};
void roam(void* arg) {
    auto* r = static_cast<Roamer*>(arg);
    while (x86::now_ns() < r->end_ns)
        x86::pause();
    r->done.fetch_add(1);
}
} // namespace

KTEST(sched, load_balancing_moves_runnable_tasks) {
    if (ncpus() < 2)
        KTEST_SKIP("needs a second CPU");
    static Roamer r;
    r.done.store(0);
    r.end_ns = x86::now_ns() + 400000000ull * ktest::stress_scale();
    Task* tasks[16];
    const unsigned n = min(16u, 2 * ncpus());
    u32 migrations_before = 0;
    for (unsigned c = 0; c < ncpus(); ++c)
        migrations_before += sched_stats(c).migrations;
    KthreadOptions start_on_0;   // all start on CPU 0, allowed everywhere
    start_on_0.cpu = 0;
    for (unsigned i = 0; i < n; ++i) {
        tasks[i] = kthread_create(roam, &r, "roamer", start_on_0);
        ASSERT_NOT_NULL(tasks[i]);
    }
    while (r.done.load() < n)
        sleep_ticks(5);   // the watchdog bounds this
    x86::CpuMask used = 0;
    for (unsigned i = 0; i < n; ++i) {
        used |= tasks[i]->ran_on;   // read before kthread_join frees the task
        kthread_join(tasks[i]);
    }
    u32 migrations = 0;
    for (unsigned c = 0; c < ncpus(); ++c)
        migrations += sched_stats(c).migrations;
    EXPECT_GE(__builtin_popcount(used), 2);
    EXPECT_GT(migrations, migrations_before);
}

namespace {
// Floors the migrate-disabled task must reach (then it stops), within a cap.
constexpr u32 STAY_CHECKS = 100, STAY_SLEEPS = 10, STAY_PREEMPTIONS = 5;

struct Stayer {
    u64 cap_ns;
    unsigned home = 0;
    u32 checks = 0;
    u32 moved = 0;
    u32 sleeps = 0;
    u32 preemptions = 0;
    Atomic<u32> finished{0};
};

void stay_put(void* arg) {
    auto* s = static_cast<Stayer*>(arg);
    MigrateGuard pin;
    s->home = x86::this_cpu_index();
    Task* me = current();
    for (u32 i = 1; x86::now_ns() < s->cap_ns; ++i) {
        // Asserted each time it runs: after spinning (and being preempted),
        // after sleeping, after yielding.
        ++s->checks;
        s->moved += x86::this_cpu_index() != s->home;
        if (s->checks >= STAY_CHECKS && s->sleeps >= STAY_SLEEPS &&
            me->preemptions >= STAY_PREEMPTIONS)
            break;
        if (i % 8 == 0) {
            sleep_ticks(1);
            ++s->sleeps;
        } else if (i % 4 == 0) {
            yield();
        } else if (i % 8 == 3) {
            // Longer than a time slice: the tick must preempt it here.
            const u64 until = x86::now_ns() + 35000000ull;
            while (x86::now_ns() < until)
                x86::pause();
        } else {
            for (int k = 0; k < 2000; ++k)
                x86::pause();
        }
    }
    s->preemptions = me->preemptions;
    s->finished.store(1);
}

struct Neighbours {
    const Atomic<u32>* stop;
};
void busy_until(void* arg) {
    auto* stop = static_cast<const Atomic<u32>*>(arg);
    while (!stop->load(MemoryOrder::Relaxed))
        x86::pause();
}
} // namespace

KTEST(sched, migrate_disabled_task_stays_on_its_cpu) {
    static Stayer s;
    s.cap_ns = x86::now_ns() + 20000000000ull;
    s.checks = s.moved = s.sleeps = s.preemptions = 0;
    s.finished.store(0);
    // The stayer is allowed everywhere; CPU-bound neighbours on its CPU make
    // the balancer want to move things off it, and the tick preempt it.
    KthreadOptions anywhere;
    anywhere.cpu = 0;
    Task* stayer = kthread_create(stay_put, &s, "stayer", anywhere);
    ASSERT_NOT_NULL(stayer);
    // Two neighbours pinned to CPU 0 keep preempting it; the others are free
    // to move, so the balancer keeps working on CPU 0's queue.
    Task* neighbours[2 + 2 * x86::NR_CPUS];
    const unsigned n = 2 + 2 * (ncpus() - 1);
    for (unsigned i = 0; i < n; ++i) {
        neighbours[i] = kthread_create(busy_until, &s.finished, "neighbour",
                                       i < 2 ? pinned(0) : anywhere);
        ASSERT_NOT_NULL(neighbours[i]);
    }
    kthread_join(stayer);
    for (unsigned i = 0; i < n; ++i)
        kthread_join(neighbours[i]);
    EXPECT_EQ(s.moved, 0u);
    EXPECT_GE(s.checks, STAY_CHECKS);
    EXPECT_GE(s.sleeps, STAY_SLEEPS);
    EXPECT_GE(s.preemptions, STAY_PREEMPTIONS);
    ktest_ctx.diag("stayed on CPU %u: %u checks, %u sleeps, %u preemptions", s.home, s.checks,
                   s.sleeps, s.preemptions);
}

// ---- affinity ----------------------------------------------------------------------

namespace {
struct Move {
    unsigned from = 0, to = 0;
    Task* task = nullptr;
    Atomic<u32> fired{0};
    Atomic<u32> stop_neighbour{0};
    u32 preempted_in_window = 0;
    unsigned cpu_in_window = ~0u;
    unsigned cpu_while_pinned = ~0u;
    unsigned cpu_after = ~0u;
    u32 strays = 0;   // later checks that found it elsewhere than `to`
};
Move mover;

// At the point where set_cpus_allowed() has chosen the new CPU and not yet
// switched: a reschedule IPI to this CPU, whose exit preempts the task (a
// busy neighbour is queued here).
void preempt_after_target_chosen(const InjectPoint& point) {
    if (&point != &set_cpus_allowed_chosen || current() != mover.task || mover.fired.exchange(1))
        return;
    const u32 preemptions = current()->preemptions;
    const unsigned me = x86::this_cpu_index();
    mover.cpu_in_window = me;
    const u32 seen = __atomic_load_n(&x86::cpu_data[me].reschedules_received, __ATOMIC_RELAXED);
    x86::smp_send_reschedule(me);
    const u64 deadline = x86::now_ns() + 1'000'000'000ull;
    while (__atomic_load_n(&x86::cpu_data[me].reschedules_received, __ATOMIC_RELAXED) == seen &&
           x86::now_ns() < deadline)
        x86::pause();
    mover.preempted_in_window = current()->preemptions - preemptions;
}

// Where it runs after the move, and whether it stays there across sleeps.
void settle_and_check() {
    mover.cpu_after = x86::this_cpu_index();
    for (int i = 0; i < 5; ++i) {
        sleep_ticks(1);
        mover.strays += x86::this_cpu_index() != mover.to;
    }
}

void move_preempted(void*) {
    mover.task = current();
    set_cpus_allowed(x86::cpu_bit(mover.to));
    settle_and_check();
}

void move_while_pinned(void*) {
    mover.task = current();
    migrate_disable();
    set_cpus_allowed(x86::cpu_bit(mover.to));
    sleep_ticks(2);   // may sleep, and comes back here: migration is off
    mover.cpu_while_pinned = x86::this_cpu_index();
    migrate_enable();
    settle_and_check();
}

void reset_move() {
    mover.from = 1;
    mover.to = ncpus() > 2 ? 2 : 0;
    mover.task = nullptr;
    mover.fired.store(0);
    mover.stop_neighbour.store(0);
    mover.preempted_in_window = 0;
    mover.cpu_in_window = mover.cpu_while_pinned = mover.cpu_after = ~0u;
    mover.strays = 0;
}

void neighbour_until_stopped(void*) {
    while (!mover.stop_neighbour.load(MemoryOrder::Relaxed))
        x86::pause();
}

// Runs `fn` in a thread that starts on mover.from, and checks where it ended.
void move_and_check(ktest::Context& ktest_ctx, void (*fn)(void*), const char* name) {
    Task* t = kthread_create(fn, nullptr, name, pinned(mover.from));
    ASSERT_NOT_NULL(t);
    kthread_join(t);
    EXPECT_EQ(mover.cpu_after, mover.to);
    EXPECT_EQ(mover.strays, 0u);
}
} // namespace

// The switch that moves a task to its new CPU came as a preemption between
// choosing the target and calling schedule(): the preemption must move it
// (before, it was requeued here AND queued on the target, two CPUs could pick
// it, and the list broke).
KTEST(sched, set_cpus_allowed_preempted_before_its_switch_moves_the_task_once) {
    if (ncpus() < 2)
        KTEST_SKIP("needs a second CPU");
    reset_move();
    Task* neighbour = kthread_create(neighbour_until_stopped, nullptr, "neighbour", pinned(mover.from));
    ASSERT_NOT_NULL(neighbour);
    {
        InjectHookGuard hook(preempt_after_target_chosen);
        move_and_check(ktest_ctx, move_preempted, "mover");
    }
    mover.stop_neighbour.store(1);
    kthread_join(neighbour);
    EXPECT_EQ(mover.fired.load(), 1u);
    EXPECT_EQ(mover.cpu_in_window, mover.from);
    EXPECT_EQ(mover.preempted_in_window, 1u);   // the forced preemption happened
    EXPECT_EQ(nr_queued(mover.from), 0u);
}

// An affinity change while migration is disabled cannot move the task then;
// migrate_enable() carries it out (it was lost before).
KTEST(sched, affinity_changed_with_migration_disabled_applies_at_migrate_enable) {
    if (ncpus() < 2)
        KTEST_SKIP("needs a second CPU");
    reset_move();
    move_and_check(ktest_ctx, move_while_pinned, "pinned-mover");
    EXPECT_EQ(mover.cpu_while_pinned, mover.from);
}

namespace {
struct Contention {
    Mutex mutex;
    u32 shared = 0;
    u32 iterations = 0;
    Completion ping, pong;
    u32 rounds = 0;
    WaitQueue wq;
    Atomic<u32> produced{0};
    Atomic<u32> consumed_ok{0};
};

void mutex_worker(void* arg) {
    auto* c = static_cast<Contention*>(arg);
    for (u32 i = 0; i < c->iterations; ++i) {
        MutexGuard guard(c->mutex);
        const u32 v = c->shared;
        if (i % 8 == 0)
            yield();   // hold it across a switch now and then
        c->shared = v + 1;
    }
}

void pinger(void* arg) {
    auto* c = static_cast<Contention*>(arg);
    for (u32 i = 0; i < c->rounds; ++i) {
        c->ping.complete();
        c->pong.wait();
    }
}

void ponger(void* arg) {
    auto* c = static_cast<Contention*>(arg);
    for (u32 i = 0; i < c->rounds; ++i) {
        c->ping.wait();
        c->pong.complete();
    }
}

void consumer(void* arg) {
    auto* c = static_cast<Contention*>(arg);
    for (u32 want = 1; want <= 200; ++want)
        wait_event(c->wq, [&] { return c->produced.load() >= want; });
    c->consumed_ok.fetch_add(1);
}
} // namespace

KTEST(sched, mutex_completion_and_wait_queue_under_contention) {
    static Contention c;
    // Two workers per CPU (at least four), the ping-pong pair, three consumers:
    // every worker is created, so the count below is what ran. Past eight
    // workers each does fewer rounds, so that the total stays that of four
    // CPUs: every handoff of the mutex is a wake-up on another vCPU, and with
    // 16 of them on two busy host cores a handoff can cost milliseconds.
    constexpr unsigned MAX_WORKERS = 2 * x86::NR_CPUS;
    const unsigned workers = 2 * ncpus() < 8 ? 4 : 2 * ncpus();
    static_assert(MAX_WORKERS >= 4);
    c.shared = 0;
    c.iterations = 300 * ktest::stress_scale() * 8 / max(workers, 8u);
    c.rounds = 300 * ktest::stress_scale();
    c.ping.reinit();
    c.pong.reinit();
    c.produced.store(0);
    c.consumed_ok.store(0);

    Task* t[MAX_WORKERS + 5];
    unsigned n = 0;
    for (unsigned i = 0; i < workers; ++i)
        t[n++] = kthread_create(mutex_worker, &c, "mutex-worker");
    // The ping-pong pair on different CPUs when there are two.
    t[n++] = kthread_create(pinger, &c, "pinger", pinned(0));
    t[n++] = kthread_create(ponger, &c, "ponger", pinned(ncpus() > 1 ? 1 : 0));
    const unsigned first_consumer = n;
    for (unsigned i = 0; i < 3; ++i)
        t[n++] = kthread_create(consumer, &c, "consumer");
    for (unsigned i = 0; i < n; ++i)
        ASSERT_NOT_NULL(t[i]);
    for (u32 k = 1; k <= 200; ++k) {
        c.produced.store(k);
        c.wq.wake_all();
        if (k % 20 == 0)
            sleep_ticks(1);
    }
    for (unsigned i = 0; i < n; ++i)
        kthread_join(t[i]);
    EXPECT_EQ(c.shared, workers * c.iterations);
    EXPECT_NULL(c.mutex.owner());
    EXPECT_EQ(c.consumed_ok.load(), n - first_consumer);
}

KTEST(sched, might_sleep_in_atomic_context_warns_once_per_call) {
    KTEST_EXPECT_WARN("sched.might_sleep", 3);
    might_sleep();   // fine here
    {
        PreemptGuard no_preemption;
        EXPECT_TRUE(in_atomic());
        might_sleep();
        might_sleep();
    }
    {
        const u32 flags = x86::irq_save();
        might_sleep();
        x86::irq_restore(flags);
    }
    EXPECT_FALSE(in_atomic());
    EXPECT_TRUE(in_task());
}

namespace {
struct EnablePoint {
    Completion go;
    Atomic<u32> ran{0};
    u32 tick_at_start = 0;
    Task* sleeper = nullptr;
};

void woken_thread(void* arg) {
    auto* e = static_cast<EnablePoint*>(arg);
    e->go.wait();
    e->tick_at_start = __atomic_load_n(&x86::cpu_data[0].timer_ticks, __ATOMIC_RELAXED);
    e->ran.store(1);
}

void remote_waker(void* arg) { static_cast<EnablePoint*>(arg)->go.complete(); }
} // namespace

KTEST(sched, reschedule_ipi_in_preempt_disabled_section_switches_at_enable) {
    if (ncpus() < 2)
        KTEST_SKIP("needs a second CPU to send the reschedule IPI");
    static EnablePoint e;
    e.go.reinit();
    e.ran.store(0);
    Task* b = kthread_create(woken_thread, &e, "woken", pinned(0));
    ASSERT_NOT_NULL(b);
    while (!e.go.done() && b->state != TaskState::Sleeping)
        yield();   // let it block on the completion
    const u32 enable_switches = sched_stats(0).preemptions_enable;
    u32 tick_before = 0;
    Task* waker = nullptr;
    bool resched = false;
    {
        PreemptGuard no_preemption;
        // CPU 1 wakes it: the wake-up sends CPU 0 a reschedule IPI, which
        // arrives here and can only set need_resched.
        Task* w = kthread_create(remote_waker, &e, "waker", pinned(1));
        ASSERT_NOT_NULL(w);
        // Until the wake-up has happened and set need_resched: a tick's
        // timeslice end may set need_resched before the waker has run (the
        // switch at enable then has nobody to go to, and the IPI comes after
        // it). Bounded generously: on a loaded host CPU 1's vCPU can go
        // unscheduled for seconds (a 2 s bound once ran out in CI).
        const u64 deadline = x86::now_ns() + 30000000000ull;
        while (!(resched = e.go.done() &&
                           __atomic_load_n(&x86::this_cpu()->need_resched, __ATOMIC_ACQUIRE)) &&
               x86::now_ns() < deadline)
            x86::pause();
        if (!resched)
            ktest_ctx.diag("no wake-up and reschedule IPI within 30 s: cannot tell where it switched");
        EXPECT_TRUE(resched);
        EXPECT_EQ(e.ran.load(), 0u);   // not while preemption is off, ticks or not
        tick_before = __atomic_load_n(&x86::cpu_data[0].timer_ticks, __ATOMIC_RELAXED);
        waker = w;
    }   // preempt_enable(): the switch happens here
    // It ran before preempt_enable() returned, and the scheduler counted the
    // switch as one taken at preempt_enable(), not at a tick: a tick may come
    // in between, but with preemption off it cannot switch.
    if (resched) {
        EXPECT_EQ(e.ran.load(), 1u);
        EXPECT_GT(sched_stats(0).preemptions_enable, enable_switches);
        ktest_ctx.diag("woken task started %u tick(s) after the section's last read",
                       e.tick_at_start - tick_before);
    }
    kthread_join(waker);
    kthread_join(b);
}

// ---- the two halves of the switch ----------------------------------------------

namespace {

struct SwitchProbe {
    Task* a = nullptr;
    Task* b = nullptr;
    Atomic<u32> prepares{0}, finishes{0}, bad_prepare{0}, bad_finish{0};
    Atomic<u32> arm_interrupt{0};
    Atomic<u32> interrupts_in_finish{0};
    Atomic<u32> in_finish{0};
};
SwitchProbe probe;

bool ours(const Task* t) { return t == probe.a || t == probe.b; }

void on_prepare(Task* prev, Task* next) {
    if (!ours(prev) && !ours(next))
        return;
    probe.prepares.fetch_add(1);
    // Interrupts off, preemption off, and current() is still prev.
    if (x86::irqs_enabled() || preempt_count() == 0 || current() != prev || prev == next)
        probe.bad_prepare.fetch_add(1);
}

void on_finish(Task* prev) {
    Task* now = current();
    if (!ours(prev) && !ours(now))
        return;
    probe.finishes.fetch_add(1);
    // Interrupts on, preemption off (exactly the scheduler's own count), and
    // current() is the task switched to, not prev.
    if (!x86::irqs_enabled() || preempt_count() != 1 || now == prev)
        probe.bad_finish.fetch_add(1);
    if (probe.arm_interrupt.load()) {
        probe.in_finish.store(1);
        asm volatile("int %0" : : "i"(x86::VECTOR_TEST) : "memory");   // an interrupt, here
        probe.in_finish.store(0);
    }
}
const TaskHooks probe_hooks{.name = "switch-probe", .switch_out = on_prepare, .switch_in = on_finish};

void test_vector(x86::InterruptFrame&) {
    if (probe.in_finish.load())
        probe.interrupts_in_finish.fetch_add(1);
}

Completion start_gate;

void ping_pong(void*) {
    start_gate.wait();   // both queued before either starts yielding
    for (int i = 0; i < 20; ++i)
        yield();
}

} // namespace

KTEST(sched, switch_hooks_see_the_right_context_and_allow_interrupts) {
    probe.prepares.store(0);
    probe.finishes.store(0);
    probe.bad_prepare.store(0);
    probe.bad_finish.store(0);
    probe.interrupts_in_finish.store(0);
    probe.arm_interrupt.store(1);
    x86::set_interrupt_handler(x86::VECTOR_TEST, test_vector);
    {
        testing::TaskHooksGuard watching(probe_hooks);
        const unsigned cpu = ncpus() > 1 ? 1 : 0;
        start_gate.reinit();
        probe.a = kthread_create(ping_pong, nullptr, "pingpong-a", pinned(cpu));
        probe.b = kthread_create(ping_pong, nullptr, "pingpong-b", pinned(cpu));
        ASSERT_NOT_NULL(probe.a);
        ASSERT_NOT_NULL(probe.b);
        while (probe.a->state != TaskState::Sleeping || probe.b->state != TaskState::Sleeping)
            sleep_ticks(1);
        start_gate.complete_all();
        while (probe.a->state != TaskState::Dead || probe.b->state != TaskState::Dead)
            sleep_ticks(1);
    }
    probe.arm_interrupt.store(0);
    kthread_join(probe.a);
    kthread_join(probe.b);
    probe.a = probe.b = nullptr;
    EXPECT_GE(probe.prepares.load(), 20u);
    EXPECT_GE(probe.finishes.load(), 20u);
    EXPECT_EQ(probe.bad_prepare.load(), 0u);
    EXPECT_EQ(probe.bad_finish.load(), 0u);
    EXPECT_GT(probe.interrupts_in_finish.load(), 0u);
}

KTEST(sched, kernel_threads_exit_and_join) {
    const unsigned alive = tasks_alive();
    Task* t = kthread_create([](void*) { task_exit(42); }, nullptr, "exits-42");
    ASSERT_NOT_NULL(t);
    EXPECT_EQ(kthread_join(t), 42);
    EXPECT_EQ(tasks_alive(), alive);
}
