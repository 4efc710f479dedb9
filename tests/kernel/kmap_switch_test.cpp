// K14, the context-switch race of seeds/003: an interrupt that maps while
// the switch is halfway through clearing prev's slots or restoring next's.
// With the split switch (clear in prepare_switch, restore in finish_switch,
// the index never touched) the interrupt stacks above whichever task is
// current and leaves nothing behind. The single-phase switch of the original
// RFC is the negative control: kmap_crash_test.cpp shows it hitting K6.
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/nofault.h"
#include "lib/bug.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "mm/kmap_local_testing.h"
#include "mm/pgtable.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using sched::Task;

KTEST_SUITE(kmap_switch);

namespace {

constexpr x86::PteFlags AD = x86::PTE_ACCESSED | x86::PTE_DIRTY;

struct Injection {
    Atomic<u32> armed{0};
    testing::KmapPhase phase;
    Task* task;
    unsigned pos;
    Atomic<u32> fired{0};
    u32 irq_address = 0;
    int irq_depth_seen = 0;
    int task_depth_before = 0;
    u32 irq_content_ok = 0;
    Page* irq_page = nullptr;
};
Injection inj;

void mapping_interrupt(x86::InterruptFrame&) {
    // Interrupt context, on top of whichever task is current.
    inj.task_depth_before = kmap_local_depth();
    void* va = kmap_local_pfn(page_to_pfn(inj.irq_page));
    inj.irq_address = reinterpret_cast<u32>(va);
    inj.irq_depth_seen = kmap_local_depth();
    inj.irq_content_ok = *static_cast<volatile u32*>(va) == 0x1a1a1a1au;
    kunmap_local(va);
    inj.fired.fetch_add(1);
}

struct Side {
    int depth;
    Page* pages[8];
    sched::Completion go, resumed, finish;
    u32 state_ok = 0;     // after being switched in: slots exactly as saved, the rest empty
    u32 content_ok = 0;
};

struct Scenario {
    Side x, y;
    Task* coordinator;     // the test's own thread: it must be off the queue
    Task* y_task;
    Atomic<u32> recording{0};
    Atomic<u32> go{0};              // the coordinator armed the injection
    Atomic<u32> ready{0};           // sides that have built their stacks
    Atomic<u32> x_releasing{0};     // X is waking Y: the next switch is X -> Y
    Task* switched_to_y_from = nullptr;
};

Scenario* scenario;

void inject(testing::KmapPhase phase, Task* task, unsigned pos) {
    // Only in the switch under test: X polls with sleep_ticks, so it is
    // switched out many times before it releases Y.
    if (!scenario || !scenario->x_releasing.load())
        return;
    if (inj.armed.load() && phase == inj.phase && task == inj.task && pos == inj.pos) {
        inj.armed.store(0);
        asm volatile("int %0" : : "i"(x86::VECTOR_TEST) : "memory");
    }
}

// Records which task the scheduler left when it first switched to Y after X
// released it (Y is switched to again later, by the cleanup).
void record_switch(Task* prev, Task* next) {
    if (scenario && next == scenario->y_task && scenario->x_releasing.load() &&
        scenario->recording.exchange(0))
        scenario->switched_to_y_from = prev;
}
const sched::TaskHooks switch_recorder{.name = "k14-recorder", .switch_out = record_switch};

u32 pattern(const Side& s, int i) { return 0x51de0000u + static_cast<u32>(s.depth * 16 + i); }

// After a switch into `me`: every position of this CPU holds exactly what
// `me` saved there, or nothing.
u32 slots_exact(Task* me) {
    const KmapCtrl& kc = kmap_ctrl(me);
    const unsigned cpu = x86::this_cpu_index();
    u32 bad = 0;
    for (unsigned pos = 0; pos < KM_MAX_IDX; ++pos) {
        const VirtAddr slot(kmap_local_slot_address(cpu, pos));
        const x86::Pte live = x86::read_pte(lookup_kernel_pte(slot));
        const x86::Pte want = static_cast<int>(pos) < kc.idx ? kc.pteval[pos] : x86::Pte();
        bad += live.without(AD) != want.without(AD);
    }
    return bad;
}

void side_body(Side& me, Side* other) {
    void* va[8];
    for (int i = 0; i < me.depth; ++i) {
        va[i] = kmap_local_pfn(page_to_pfn(me.pages[i]));
        *static_cast<volatile u32*>(va[i]) = pattern(me, i);
    }
    scenario->ready.fetch_add(1);
    if (other) {
        // X: wait until the injection is armed and the coordinator is off
        // the run queue, so that the only other runnable task will be Y.
        while (!scenario->go.load() || __atomic_load_n(&scenario->coordinator->on_rq, __ATOMIC_ACQUIRE))
            sched::sleep_ticks(1);
        // Waking Y on this CPU preempts X at once: the switch is X -> Y.
        scenario->x_releasing.store(1);
        other->go.complete();
        me.finish.wait();
    } else {
        me.go.wait();
        // Y: just switched in from X.
        me.state_ok = slots_exact(sched::current()) == 0;
        u32 good = 0;
        for (int i = 0; i < me.depth; ++i)
            good += *static_cast<volatile u32*>(va[i]) == pattern(me, i);
        me.content_ok = good == static_cast<u32>(me.depth);
        me.resumed.complete();
        me.finish.wait();
    }
    for (int i = me.depth; i-- > 0;)
        kunmap_local(va[i]);
}

void x_thread(void*) { side_body(scenario->x, &scenario->y); }
void y_thread(void*) { side_body(scenario->y, nullptr); }

// One switch X -> Y with an interrupt injected after entry `pos` of the
// given loop. Returns false (with diagnostics) if anything is off.
bool run_switch(ktest::Context& ktest_ctx, int x_depth, int y_depth, testing::KmapPhase phase,
                int which, int forced_entry = -1) {
    static Scenario s;
    scenario = &s;
    s.coordinator = sched::current();
    s.recording.store(0);
    s.go.store(0);
    s.ready.store(0);
    s.x_releasing.store(0);
    s.switched_to_y_from = nullptr;
    s.x.depth = x_depth;
    s.y.depth = y_depth;
    Side* const sides[2] = {&s.x, &s.y};
    for (Side* side : sides) {
        side->go.reinit();
        side->resumed.reinit();
        side->finish.reinit();
        side->state_ok = side->content_ok = 0;
        for (int i = 0; i < side->depth; ++i)
            side->pages[i] = alloc_page(Gfp::Kernel);
    }
    const unsigned cpu = x86::num_online_cpus() > 1 ? 1 : 0;
    sched::KthreadOptions there;
    there.allowed = x86::cpu_bit(cpu);
    there.cpu = static_cast<int>(cpu);
    Task* x = sched::kthread_create(x_thread, nullptr, "race-x", there);
    Task* y = sched::kthread_create(y_thread, nullptr, "race-y", there);
    if (!x || !y)
        return false;
    s.y_task = y;
    // Not "until both sleep": X polls on the tick, as this loop does.
    while (s.ready.load() < 2)
        sched::sleep_ticks(1);

    // The entry: first, middle or last of the loop of the task it runs on.
    const Side& looped = phase == testing::KmapPhase::Out ? s.x : s.y;
    const int n = looped.depth;
    const int entry = forced_entry >= 0 ? forced_entry : which == 0 ? 0 : which == 1 ? n / 2 : n - 1;
    inj.phase = phase;
    inj.task = phase == testing::KmapPhase::Out ? x : y;
    inj.pos = static_cast<unsigned>(entry * static_cast<int>(KM_INCR) + KM_INCR - 1);
    inj.fired.store(0);
    inj.irq_content_ok = 0;
    s.recording.store(1);
    inj.armed.store(1);
    s.go.store(1);
    s.y.resumed.wait();
    inj.armed.store(0);
    s.x.finish.complete();
    s.y.finish.complete();
    sched::kthread_join(x);
    sched::kthread_join(y);
    for (Side* side : sides)
        for (int i = 0; i < side->depth; ++i)
            free_page(side->pages[i]);

    // The interrupt ran on top of the task that was current in that loop.
    const int current_depth = phase == testing::KmapPhase::Out ? x_depth : y_depth;
    EXPECT_EQ(s.switched_to_y_from, x);   // the switch under test was X -> Y
    EXPECT_EQ(inj.fired.load(), 1u);
    EXPECT_EQ(inj.task_depth_before, current_depth);
    EXPECT_EQ(inj.irq_depth_seen, current_depth + 1);
    EXPECT_EQ(inj.irq_address, kmap_local_slot_address(cpu, static_cast<unsigned>(
                                   (current_depth + 1) * static_cast<int>(KM_INCR) - 1)));
    EXPECT_EQ(inj.irq_content_ok, 1u);
    EXPECT_EQ(s.y.state_ok, 1u);
    EXPECT_EQ(s.y.content_ok, 1u);
    if (ktest_ctx.failed())
        ktest_ctx.diag("in: x depth %d, y depth %d, %s loop, %s entry", x_depth, y_depth,
                       phase == testing::KmapPhase::Out ? "clearing" : "restoring",
                       which == 0 ? "first" : which == 1 ? "middle" : "last");
    return !ktest_ctx.failed();
}

} // namespace

KTEST(kmap_switch, k14_interrupt_inside_either_half_of_the_switch_is_safe) {
    inj.irq_page = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(inj.irq_page);
    *static_cast<u32*>(page_address(inj.irq_page)) = 0x1a1a1a1a;
    x86::set_interrupt_handler(x86::VECTOR_TEST, mapping_interrupt);
    {
        testing::InstrumentedKmapSwitch instrumented({.inject = inject});
        sched::testing::TaskHooksGuard recording(switch_recorder);
        const int depths[2][2] = {{1, 4}, {4, 1}};   // prev shallower than next, and the reverse
        const testing::KmapPhase phases[2] = {testing::KmapPhase::Out, testing::KmapPhase::In};
        for (const auto& d : depths)
            for (testing::KmapPhase phase : phases)
                for (int which = 0; which < 3; ++which)
                    if (!run_switch(ktest_ctx, d[0], d[1], phase, which))
                        break;
    }
    x86::set_interrupt_handler(x86::VECTOR_TEST, nullptr);
    free_page(inj.irq_page);
}

// The negative control's setup, shared with the crash test: the single-phase
// switch with prev shallower than next and the interrupt after the middle
// entry. Exported for kmap_crash_test.cpp.
void kmap_switch_single_phase_crash() {
    inj.irq_page = alloc_page(Gfp::Kernel);
    BUG_ON(!inj.irq_page);
    x86::set_interrupt_handler(x86::VECTOR_TEST, mapping_interrupt);
    // Never undone: the switch under test ends in K6's BUG.
    static testing::InstrumentedKmapSwitch single_phase({.inject = inject, .single_phase = true});
    ktest::Context ctx = ktest::Context::capture("single-phase");
    // The single-phase loop runs in prepare_switch over max(prev, next) = 4
    // positions with current == prev; entry 1 is the middle of the four.
    run_switch(ctx, 1, 4, testing::KmapPhase::Out, 1, /*forced_entry=*/1);
}
