// The SMP platform: every CPU online with its own identity, IPIs that reach
// each CPU and every CPU, waiting calls that wait, timers on every CPU, and
// a spinlock that stays exact under contention from all CPUs.
#include "arch/x86/acpi.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/mptable.h"
#include "arch/x86/smp.h"
#include "arch/x86/smp_testing.h"
#include "arch/x86/time.h"
#include "boot/params.h"
#include "lib/inject_testing.h"
#include "lib/spinlock.h"
#include "mm/fixmap.h"
#include "sched/sched.h"
#include "tests/ktest/ktest.h"

using namespace x86;

KTEST_SUITE(smp);

namespace {

Atomic<u32> per_cpu_hits[NR_CPUS];
u32 seen_apic_id[NR_CPUS];

void count_hit(void*) { per_cpu_hits[this_cpu_index()].fetch_add(1); }
void record_apic_id(void*) { seen_apic_id[this_cpu_index()] = lapic_id(); }

void reset_hits() {
    for (auto& h : per_cpu_hits)
        h.store(0);
}

// Wait with interrupts on, up to `ms`, for cond().
template <typename F>
bool wait_for(u32 ms, F&& cond) {
    const u64 deadline = now_ns() + u64{ms} * 1000000;
    while (!cond()) {
        if (now_ns() > deadline)
            return false;
        pause();
    }
    return true;
}

void* early_map(u64 phys, u32 size) { return mm::early_ioremap(mm::PhysAddr(phys), size); }
void early_unmap(void* addr, u32 size) { mm::early_iounmap(addr, size); }

} // namespace

KTEST(smp, every_cpu_comes_online) {
    EXPECT_EQ(num_online_cpus(), num_possible_cpus());
    if (boot::params.ktest_cpus)
        EXPECT_GE(num_online_cpus(), static_cast<unsigned>(boot::params.ktest_cpus));
    // Each CPU's index and APIC ID agree with what its own LAPIC says.
    on_each_cpu(record_apic_id, nullptr, true);
    for (unsigned c = 0; c < num_online_cpus(); ++c) {
        EXPECT_EQ(seen_apic_id[c], cpu_data[c].apic_id);
        EXPECT_EQ(cpu_data[c].cpu_index, c);
        for (unsigned d = 0; d < c; ++d)
            EXPECT_NE(cpu_data[c].apic_id, cpu_data[d].apic_id);
    }
}

KTEST(smp, mp_table_fallback_agrees_with_the_madt) {
    const acpi::PhysWindow w{early_map, early_unmap};
    acpi::CpuList madt, mp;
    ASSERT_TRUE(acpi::madt_cpus(w, &madt));
    if (!mptable::cpus(w, &mp))
        KTEST_SKIP("the firmware has no MP table");
    // SeaBIOS lists only the boot CPU in its MP table; whatever it lists
    // must be a CPU of the MADT, the boot CPU first.
    EXPECT_EQ(mp.apic_id[0], cpu_data[0].apic_id);
    for (unsigned i = 0; i < mp.count; ++i) {
        bool in_madt = false;
        for (unsigned k = 0; k < madt.count; ++k)
            in_madt |= madt.apic_id[k] == mp.apic_id[i];
        EXPECT_TRUE(in_madt);
    }
}

KTEST(smp, ipi_reaches_each_cpu_and_all) {
    const unsigned n = num_online_cpus();
    reset_hits();
    on_each_cpu(count_hit, nullptr, true);
    for (unsigned c = 0; c < n; ++c)
        EXPECT_EQ(per_cpu_hits[c].load(), 1u);
    reset_hits();
    for (unsigned c = 0; c < n; ++c)
        smp_call_function_single(c, count_hit, nullptr, true);
    for (unsigned c = 0; c < n; ++c)
        EXPECT_EQ(per_cpu_hits[c].load(), 1u);
    // A set: the odd CPUs only (the caller keeps preemption off, as it must).
    reset_hits();
    {
        sched::PreemptGuard no_preemption;
        smp_call_function_many(0xaaaaaaaau, count_hit, nullptr, true);
    }
    for (unsigned c = 0; c < n; ++c)
        EXPECT_EQ(per_cpu_hits[c].load(), c % 2 ? 1u : 0u);
    // All others, without waiting: they still all run it.
    reset_hits();
    smp_call_function(count_hit, nullptr, false);
    EXPECT_TRUE(wait_for(2000, [&] {
        u32 done = 0;
        for (unsigned c = 1; c < n; ++c)
            done += per_cpu_hits[c].load();
        return done == n - 1;
    }));
    EXPECT_EQ(per_cpu_hits[0].load(), 0u);
}

namespace {
Atomic<u32> finished[NR_CPUS];
void slow_then_done(void*) {
    udelay(20000);
    finished[this_cpu_index()].store(1);
}
} // namespace

KTEST(smp, waiting_call_returns_only_after_every_target_ran_t4) {
    if (num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    for (auto& f : finished)
        f.store(0);
    smp_call_function(slow_then_done, nullptr, true);
    for (unsigned c = 1; c < num_online_cpus(); ++c)
        EXPECT_EQ(finished[c].load(), 1u);
    EXPECT_EQ(finished[0].load(), 0u);
}

KTEST(smp, call_function_many_from_preemptible_code_warns_and_still_runs_once_per_cpu) {
    KTEST_EXPECT_WARN("smp.call_preemptible", 1);
    reset_hits();
    smp_call_function_many(~0u, count_hit, nullptr, true);
    for (unsigned c = 0; c < num_online_cpus(); ++c)
        EXPECT_EQ(per_cpu_hits[c].load(), 1u);
}

// A cross-CPU call whose caller is preempted in the middle - requests queued,
// local run and wait still to come - with a busy neighbour on its CPU and an
// idle CPU allowed to take it: a preemptible caller would be moved, skip the
// CPU it left and run the local part on the new one twice (the vfree path
// did this). Preemption is off for the whole call, so the interrupt that
// asks for a reschedule changes nothing until the call is over.
namespace {
struct MidCall {
    sched::Task* caller = nullptr;
    x86::CpuMask widen_to = 0;
    Atomic<u32> fired{0};
    Atomic<u32> stop_neighbour{0};
    u32 preempt_count_inside = 0;
    unsigned cpu_before = 0;
    unsigned cpu_after_ipi = 0;
};
MidCall mid;

void reschedule_myself(const InjectPoint& point) {
    if (&point != &smp_call_queued || sched::current() != mid.caller || mid.fired.exchange(1))
        return;
    const unsigned me = this_cpu_index();
    mid.cpu_before = me;
    mid.preempt_count_inside = sched::preempt_count();
    // Only now may it run elsewhere (it started pinned, so that it makes the
    // call from its home CPU). Then the reschedule IPI to this CPU, and a few
    // ticks for the idle CPU's load balancer to take a preempted caller away.
    mid.caller->allowed = mid.widen_to;
    const u32 seen = __atomic_load_n(&cpu_data[me].reschedules_received, __ATOMIC_RELAXED);
    smp_send_reschedule(me);
    wait_for(1000, [&] {
        return __atomic_load_n(&cpu_data[me].reschedules_received, __ATOMIC_RELAXED) != seen;
    });
    udelay(50000);
    mid.cpu_after_ipi = this_cpu_index();
}

void busy_neighbour(void*) {
    while (!mid.stop_neighbour.load(MemoryOrder::Relaxed))
        pause();
}

void call_everyone(void*) {
    mid.caller = sched::current();
    reset_hits();
    on_each_cpu(count_hit, nullptr, true);
}
} // namespace

KTEST(smp, a_call_is_neither_preempted_nor_migrated_between_its_requests_and_its_wait) {
    if (num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU to migrate to");
    const unsigned home = 1, refuge = num_online_cpus() > 2 ? 2 : 0;
    mid.fired.store(0);
    mid.stop_neighbour.store(0);
    sched::KthreadOptions pinned_home;
    pinned_home.allowed = cpu_bit(home);
    pinned_home.cpu = static_cast<int>(home);
    sched::Task* neighbour = sched::kthread_create(busy_neighbour, nullptr, "neighbour", pinned_home);
    ASSERT_NOT_NULL(neighbour);
    mid.caller = nullptr;
    mid.widen_to = cpu_bit(home) | cpu_bit(refuge);
    {
        InjectHookGuard hook(reschedule_myself);
        sched::Task* caller = sched::kthread_create(call_everyone, nullptr, "mid-call", pinned_home);
        ASSERT_NOT_NULL(caller);
        sched::kthread_join(caller);
    }
    mid.stop_neighbour.store(1);
    sched::kthread_join(neighbour);
    EXPECT_EQ(mid.fired.load(), 1u);
    EXPECT_EQ(mid.cpu_before, home);
    EXPECT_GT(mid.preempt_count_inside, 0u);
    EXPECT_EQ(mid.cpu_after_ipi, home);
    for (unsigned c = 0; c < num_online_cpus(); ++c)
        EXPECT_EQ(per_cpu_hits[c].load(), 1u);
}

KTEST(smp, timer_ticks_on_every_cpu) {
    u32 before[NR_CPUS];
    for (unsigned c = 0; c < num_online_cpus(); ++c)
        before[c] = cpu_data[c].timer_ticks;
    // HZ ticks per second; allow for vCPUs that share host cores.
    EXPECT_TRUE(wait_for(3000, [&] {
        for (unsigned c = 0; c < num_online_cpus(); ++c)
            if (__atomic_load_n(&cpu_data[c].timer_ticks, __ATOMIC_RELAXED) - before[c] < 5)
                return false;
        return true;
    }));
}

KTEST(smp, reschedule_ipi_reaches_each_cpu) {
    for (unsigned c = 0; c < num_online_cpus(); ++c) {
        const u32 before = __atomic_load_n(&cpu_data[c].reschedules_received, __ATOMIC_RELAXED);
        smp_send_reschedule(c);
        EXPECT_TRUE(wait_for(2000, [&] {
            return __atomic_load_n(&cpu_data[c].reschedules_received, __ATOMIC_RELAXED) != before;
        }));
    }
}

namespace {
constexpr u32 FLOOR = 10;   // acquisitions every CPU must reach

struct LockStress {
    Spinlock lock;
    u32 shared = 0;
    u32 mine[NR_CPUS] = {};
    u64 min_end_ns = 0;   // run at least until here...
    u64 cap_ns = 0;       // ...and until every CPU reached FLOOR, but never past this
    Atomic<u32> stop{0};
};

bool floors_reached(const LockStress& s) {
    for (unsigned c = 0; c < num_online_cpus(); ++c)
        if (__atomic_load_n(&s.mine[c], __ATOMIC_RELAXED) < FLOOR)
            return false;
    return true;
}

void hammer(void* arg) {
    auto* s = static_cast<LockStress*>(arg);
    const unsigned me = this_cpu_index();
    while (!s->stop.load(MemoryOrder::Relaxed)) {
        {
            SpinlockGuard guard(s->lock);
            ++s->shared;
            __atomic_store_n(&s->mine[me], s->mine[me] + 1, __ATOMIC_RELAXED);
        }
        const u64 now = now_ns();
        if (now >= s->cap_ns || (now >= s->min_end_ns && floors_reached(*s)))
            s->stop.store(1);
        x86::pause();   // under icount, the other vCPUs run only when this one relaxes
    }
}
} // namespace

KTEST(smp, spinlock_stress_on_all_cpus) {
    static LockStress s;
    s.shared = 0;
    for (u32& m : s.mine)
        m = 0;
    // Bounded by time, not by iterations: with more vCPUs than host cores a
    // ticket hand-off can wait for a host time slice.
    s.stop.store(0);
    s.min_end_ns = now_ns() + 200000000ull * ktest::stress_scale();
    // The cap only ends a run that would never finish: 16 vCPUs on two busy
    // host cores have taken over 10 s for every one to reach the floor.
    s.cap_ns = s.min_end_ns + 30000000000ull;
    on_each_cpu(hammer, &s, true);
    u32 sum = 0;
    for (unsigned c = 0; c < num_online_cpus(); ++c) {
        sum += s.mine[c];
        EXPECT_GE(s.mine[c], FLOOR);
    }
    EXPECT_EQ(s.shared, sum);
    ktest_ctx.diag("%u acquisitions on %u CPUs", sum, num_online_cpus());
}
