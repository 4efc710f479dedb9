// kmap_local and kmap_atomic, rule by rule (linux-highmem-spec.md §2.11,
// §3.4). Each case is named after the invariant it proves. The BUG cases
// (K4's overflow, K5, K6, K14's negative control) are crash tests in
// kmap_crash_test.cpp.
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/nofault.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/tlb.h"
#include "mm/buddy.h"
#include "mm/faultable.h"
#include "mm/kmap_audit.h"
#include "mm/kmap_local.h"
#include "mm/pgtable.h"
#include "mm/secondary_tlb.h"
#include "mm/zone.h"
#include "sched/sched.h"
#include "tests/kernel/helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using sched::Task;

KTEST_SUITE(kmap_local);

// Every case, of every suite, ends with an empty stack. The thread's exit
// hook undoes a leak (and WARNs): the check says it here, by case.
KTEST_LEAK_CHECK(kmap_local) {
    if (const int depth = kmap_local_depth()) {
        KTEST_FAIL("leak: %d kmap_local mapping(s) still held", depth);
        KTEST_EXPECT_WARN("kmap_local.exit_with_mappings", 1);
    }
}

namespace {

unsigned cpu() { return x86::this_cpu_index(); }
u32 slot(unsigned pos) { return kmap_local_slot_address(cpu(), pos); }
// The position of the n-th live mapping (0-based): KM_INCR apart, odd in debug.
unsigned position(unsigned n) { return (n + 1) * KM_INCR - 1; }

bool readable(u32 va) {
    u32 v;
    return x86::nofault_read32(reinterpret_cast<void*>(va), &v).ok;
}

x86::Pte pte_at(u32 va) { return x86::read_pte(lookup_kernel_pte(VirtAddr(va))); }

using test_support::alloc_highmem_page;

void fill(void* va, u32 seed) {
    auto* w = static_cast<u32*>(va);
    for (u32 i = 0; i < PAGE_SIZE / 4; ++i)
        w[i] = seed * 0x9e3779b1u + i;
}

u32 mismatches(const void* va, u32 seed) {
    const auto* w = static_cast<const u32*>(va);
    u32 bad = 0;
    for (u32 i = 0; i < PAGE_SIZE / 4; ++i)
        bad += w[i] != seed * 0x9e3779b1u + i;
    return bad;
}

// Four highmem pages for a case (ok: the configuration had them).
struct Pages : Pinned {
    Page* p[4] = {};
    test_support::HighmemPages owned{p};
    bool ok = owned.get(4);
};

} // namespace

KTEST(kmap_local, k1_highmem_page_maps_into_this_cpus_block) {
    Page* page = alloc_highmem_page();
    if (!page)
        KTEST_SKIP("needs a free highmem page");
    auto* va = static_cast<u32*>(kmap_local_page(page));
    EXPECT_EQ(reinterpret_cast<u32>(va), slot(position(0)));
    EXPECT_TRUE(is_kmap_local_address(reinterpret_cast<u32>(va)));
    fill(va, 1);
    EXPECT_EQ(mismatches(va, 1), 0u);
    EXPECT_EQ(kmap_local_depth(), 1);
    kunmap_local(va + 100);   // any address inside the page
    EXPECT_EQ(kmap_local_depth(), 0);
    EXPECT_EQ(pte_at(reinterpret_cast<u32>(va)).raw(), 0u);
    EXPECT_FALSE(readable(reinterpret_cast<u32>(va)));   // proves the invlpg
    // The content is the page's: another mapping sees it.
    void* again = kmap_local_page(page);
    EXPECT_EQ(mismatches(again, 1), 0u);
    kunmap_local(again);
    free_page(page);
}

KTEST(kmap_local, k2_nested_mappings_go_down_one_position_each) {
    Pages pages;
    if (!pages.ok)
        KTEST_SKIP("needs free highmem pages");
    const u32 a = reinterpret_cast<u32>(kmap_local_page(pages.p[0]));
    const u32 b = reinterpret_cast<u32>(kmap_local_page(pages.p[1]));
    EXPECT_EQ(a, slot(position(0)));
    EXPECT_EQ(b, slot(position(1)));
    EXPECT_EQ(a - b, KM_INCR * PAGE_SIZE);
    kunmap_local(reinterpret_cast<void*>(b));
    kunmap_local(reinterpret_cast<void*>(a));
    EXPECT_EQ(kmap_local_depth(), 0);
}

KTEST(kmap_local, k3_out_of_order_unmap_warns_and_still_pops) {
    Pages pages;
    if (!pages.ok)
        KTEST_SKIP("needs free highmem pages");
    KTEST_EXPECT_WARN("kmap_local.unmap_order", 1);
    void* a = kmap_local_page(pages.p[0]);
    void* b = kmap_local_page(pages.p[1]);
    kunmap_local(a);   // b is on top
    EXPECT_EQ(kmap_local_depth(), 1);
    // Linux's "malfunction": b's slot was cleared but a's address flushed.
    // Flush b's too, then release what is left (now the top: a's slot).
    x86::local_invlpg(reinterpret_cast<u32>(b));
    kunmap_local(a);
    EXPECT_EQ(kmap_local_depth(), 0);
    EXPECT_EQ(pte_at(reinterpret_cast<u32>(a)).raw(), 0u);
}

KTEST(kmap_local, k4_the_limit_minus_one_nested_mappings_succeed) {
    constexpr unsigned MAX = (KM_MAX_IDX - 1) / KM_INCR;   // 15, or 16 in debug
    Page* pages[16] = {};
    for (unsigned i = 0; i < MAX; ++i) {
        pages[i] = alloc_highmem_page();
        if (!pages[i]) {
            for (unsigned k = 0; k < i; ++k)
                free_page(pages[k]);
            KTEST_SKIP("needs free highmem pages");
        }
    }
    void* va[16];
    for (unsigned i = 0; i < MAX; ++i) {
        va[i] = kmap_local_page(pages[i]);
        fill(va[i], 100 + i);
    }
    EXPECT_EQ(kmap_local_depth(), static_cast<int>(MAX));
    u32 bad = 0;
    for (unsigned i = MAX; i-- > 0;) {
        bad += mismatches(va[i], 100 + i);
        kunmap_local(va[i]);
    }
    EXPECT_EQ(bad, 0u);
    for (unsigned i = 0; i < MAX; ++i)
        free_page(pages[i]);
}

KTEST(kmap_local, k7_lowmem_page_gets_its_direct_map_address) {
    if (KMAP_FORCE_MAP)
        KTEST_SKIP("force-map (debug build): lowmem pages use slots too (K8)");
    Page* page = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(page);
    const u32 migrate = sched::migrate_disable_count();
    void* va = kmap_local_page(page);
    EXPECT_EQ(va, page_address(page));
    EXPECT_EQ(kmap_local_depth(), 0);
    EXPECT_EQ(sched::migrate_disable_count(), migrate);
    kunmap_local(va);   // silently accepted, changes nothing
    EXPECT_EQ(kmap_local_depth(), 0);
    EXPECT_EQ(sched::migrate_disable_count(), migrate);
    free_page(page);
}

KTEST(kmap_local, k8_force_map_maps_lowmem_through_a_slot) {
    if (!KMAP_FORCE_MAP)
        KTEST_SKIP("force-map is a debug-build option");
    KTEST_EXPECT_WARN("kmap_local.unmap_not_kmap", 1);
    Page* page = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(page);
    void* va = kmap_local_page(page);
    EXPECT_TRUE(is_kmap_local_address(reinterpret_cast<u32>(va)));
    EXPECT_EQ(kmap_local_depth(), 1);
    kunmap_local(page_address(page));   // not what was mapped: warns, pops nothing
    EXPECT_EQ(kmap_local_depth(), 1);
    kunmap_local(va);
    EXPECT_EQ(kmap_local_depth(), 0);
    free_page(page);
}

KTEST(kmap_local, k9_kmap_local_pfn_of_lowmem_uses_a_slot) {
    Page* page = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(page);
    *static_cast<u32*>(page_address(page)) = 0x9f9f9f9f;
    void* va = kmap_local_pfn(page_to_pfn(page));
    EXPECT_TRUE(is_kmap_local_address(reinterpret_cast<u32>(va)));
    EXPECT_EQ(kmap_local_depth(), 1);
    EXPECT_EQ(*static_cast<u32*>(va), 0x9f9f9f9fu);
    kunmap_local(va);
    EXPECT_EQ(kmap_local_depth(), 0);
    free_page(page);
}

KTEST(kmap_local, k10_migration_disabled_preemption_and_faults_untouched) {
    Page* page = alloc_highmem_page();
    if (!page)
        KTEST_SKIP("needs a free highmem page");
    const u32 migrate = sched::migrate_disable_count();
    const u32 preempt = sched::preempt_count();
    void* va = kmap_local_page(page);
    EXPECT_EQ(sched::migrate_disable_count(), migrate + 1);
    EXPECT_EQ(sched::preempt_count(), preempt);
    EXPECT_FALSE(sched::pagefault_disabled());
    EXPECT_FALSE(sched::in_atomic());
    kunmap_local(va);
    EXPECT_EQ(sched::migrate_disable_count(), migrate);
    EXPECT_EQ(sched::preempt_count(), preempt);
    free_page(page);
}

// ---- context switches (K11, K12) -------------------------------------------------

namespace {

// K11: the case (A) and B share one CPU, so one block of slots. Each reads
// its mappings last before it switches away, which leaves them in the TLB:
// only the invlpg of the outgoing task's prepare_switch then keeps the other
// task from reading through a stale entry (finish_switch does not flush).
struct SwitchTest {
    Page* p1;
    Page* p2;
    sched::Completion to_b, to_a;
    u32 a_va, b_va;
    // What B found while A's mappings were out:
    bool b_saw_a_position0;   // A's P1 at the shared VA, before B mapped there
    bool b_saw_a_position1;   // A's second page, where B maps nothing
    bool b_saw_own;           // P2 at the shared VA
    bool b_again;             // P2 again, after A's turn

    void reset(Page* a_page, Page* b_page) {
        p1 = a_page;
        p2 = b_page;
        to_b.reinit();
        to_a.reinit();
        a_va = b_va = 0;
        b_saw_a_position0 = b_saw_a_position1 = true;
        b_saw_own = b_again = false;
    }
};

void task_b(void* arg) {
    auto* t = static_cast<SwitchTest*>(arg);
    t->to_b.wait();
    t->b_saw_a_position0 = readable(slot(position(0)));
    t->b_saw_a_position1 = readable(slot(position(1)));
    void* va = kmap_local_page(t->p2);
    t->b_va = reinterpret_cast<u32>(va);
    t->b_saw_own = mismatches(va, 2) == 0;   // the last read before switching back
    t->to_a.complete();
    t->to_b.wait();   // A runs with its mappings; B sleeps holding its own
    t->b_again = mismatches(va, 2) == 0;
    kunmap_local(va);
    t->to_a.complete();
}

} // namespace

KTEST(kmap_local, k11_two_tasks_share_slot_addresses_and_switching_restores_each) {
    Pages pages;
    if (!pages.ok)
        KTEST_SKIP("needs free highmem pages");
    static SwitchTest t;
    t.reset(pages.p[0], pages.p[1]);
    for (u32 n = 0; n < 3; ++n) {   // P1, P2, P3 hold patterns 1, 2, 3
        void* v = kmap_local_page(pages.p[n]);
        fill(v, n + 1);
        kunmap_local(v);
    }
    sched::KthreadOptions same_cpu;
    same_cpu.allowed = x86::cpu_bit(cpu());
    same_cpu.cpu = static_cast<int>(cpu());
    Task* b = sched::kthread_create(task_b, &t, "kmap-b", same_cpu);
    ASSERT_NOT_NULL(b);

    void* a = kmap_local_page(t.p1);               // position 0
    void* a2 = kmap_local_page(pages.p[2]);        // position 1: B has none there
    t.a_va = reinterpret_cast<u32>(a);
    const u32 a_before = mismatches(a, 1) + mismatches(a2, 3);   // the last reads before B
    t.to_b.complete();
    t.to_a.wait();                                  // B ran with its own slot 0
    EXPECT_EQ(a_before, 0u);
    // A -> B: A's slots were gone for B, and B's page showed at the shared VA.
    EXPECT_FALSE(t.b_saw_a_position0);
    EXPECT_FALSE(t.b_saw_a_position1);
    EXPECT_EQ(t.b_va, t.a_va);
    EXPECT_TRUE(t.b_saw_own);
    // B -> A: P1 again, not B's P2 from a stale entry.
    EXPECT_EQ(mismatches(a, 1), 0u);
    EXPECT_EQ(mismatches(a2, 3), 0u);
    // The live PTE is the saved one (the CPU may have set Accessed/Dirty).
    constexpr x86::PteFlags AD = x86::PTE_ACCESSED | x86::PTE_DIRTY;
    EXPECT_EQ(pte_at(t.a_va).without(AD).raw(),
              kmap_ctrl(sched::current()).pteval[position(0)].without(AD).raw());
    kunmap_local(a2);
    kunmap_local(a);
    t.to_b.complete();
    t.to_a.wait();
    EXPECT_TRUE(t.b_again);                         // B's restored view is P2 again
    sched::kthread_join(b);
}

namespace {

// K12: two threads with empty stacks yield to each other on one CPU while
// the case sleeps. The leader opens and closes the window itself, so the
// threads' creation and join (which frees their stacks with vfree, a
// shootdown of every CPU) stay outside it.
struct EmptySwitchTest {
    static constexpr u32 LEADER_YIELDS = 10;   // each one is two switches
    sched::Completion go, done;
    Task* case_task;
    Atomic<u32> follower_in{0};
    Atomic<u32> window_closed{0};
    Atomic<u32> mapped_slots_seen{0};   // non-empty slot PTEs of this CPU, summed
    x86::TlbCounters tlb_before, tlb_after;
    u32 switches_before, switches_after;

    void reset() {
        go.reinit();
        done.reinit();
        case_task = sched::current();
        follower_in.store(0);
        window_closed.store(0);
        mapped_slots_seen.store(0);
    }
    void count_mapped_slots() {
        u32 n = 0;
        for (unsigned pos = 0; pos < KM_MAX_IDX; ++pos)
            n += !pte_at(slot(pos)).none();
        mapped_slots_seen.fetch_add(n);
    }
};

void empty_leader(void* arg) {
    auto* t = static_cast<EmptySwitchTest*>(arg);
    t->go.wait();
    while (!t->follower_in.load() || t->case_task->state != sched::TaskState::Sleeping)
        sched::yield();
    // Only the follower and this thread are left to run on this CPU.
    t->count_mapped_slots();
    t->tlb_before = x86::tlb_counters(cpu());
    t->switches_before = sched::sched_stats(cpu()).switches;
    for (u32 i = 0; i < EmptySwitchTest::LEADER_YIELDS; ++i) {
        sched::yield();
        t->count_mapped_slots();
    }
    t->switches_after = sched::sched_stats(cpu()).switches;
    t->tlb_after = x86::tlb_counters(cpu());
    t->window_closed.store(1);
    t->done.complete();
}

void empty_follower(void* arg) {
    auto* t = static_cast<EmptySwitchTest*>(arg);
    t->go.wait();
    t->follower_in.store(1);
    while (!t->window_closed.load()) {
        sched::yield();
        t->count_mapped_slots();
    }
}

} // namespace

KTEST(kmap_local, k12_switch_hooks_do_nothing_for_empty_stacks) {
    static EmptySwitchTest t;
    t.reset();
    sched::KthreadOptions same_cpu;
    same_cpu.allowed = x86::cpu_bit(cpu());
    same_cpu.cpu = static_cast<int>(cpu());
    Task* leader = sched::kthread_create(empty_leader, &t, "empty-leader", same_cpu);
    Task* follower = sched::kthread_create(empty_follower, &t, "empty-follower", same_cpu);
    ASSERT_NOT_NULL(leader);
    ASSERT_NOT_NULL(follower);
    t.go.complete_all();
    t.done.wait();
    sched::kthread_join(leader);
    sched::kthread_join(follower);
    EXPECT_GE(t.switches_after - t.switches_before, 10u);
    // No shootdown reached this CPU in the window: every flush counted was local.
    EXPECT_EQ(t.tlb_after.shootdowns_received - t.tlb_before.shootdowns_received, 0u);
    // No switch flushed or wrote a slot: the hooks stopped at their gate.
    EXPECT_EQ(t.tlb_after.invlpg - t.tlb_before.invlpg, 0u);
    EXPECT_EQ(t.tlb_after.full_flushes - t.tlb_before.full_flushes, 0u);
    EXPECT_EQ(t.mapped_slots_seen.load(), 0u);
}

// ---- interrupts, exceptions and cross-CPU callbacks (K13) -----------------------

namespace {

// Whatever runs on top of the case - an interrupt handler, the page-fault
// path, a cross-CPU callback - maps one page (pattern 7) above the case's
// mappings and, unless told to leak it, unmaps it before it returns.
struct OnTop {
    Page* page = nullptr;
    bool leak = false;         // return without unmapping
    u32 runs = 0;
    u32 mapped_at = 0;
    u32 content_ok = 0;
    int depth_inside = 0;
    // The context of the last run.
    Task* task = nullptr;
    bool irqs_on = false;
    bool hardirq = false;
};
OnTop on_top;

void map_on_top() {
    void* va = kmap_local_page(on_top.page);
    ++on_top.runs;
    on_top.mapped_at = reinterpret_cast<u32>(va);
    on_top.depth_inside = kmap_local_depth();
    on_top.content_ok = mismatches(va, 7) == 0;
    on_top.task = sched::current();
    on_top.irqs_on = x86::irqs_enabled();
    on_top.hardirq = sched::in_hardirq();
    if (!on_top.leak)
        kunmap_local(va);
}

void start_on_top(Page* page, bool leak) {
    void* v = kmap_local_page(page);
    fill(v, 7);
    kunmap_local(v);
    on_top = OnTop{page, leak};
}

void mapping_interrupt(x86::InterruptFrame&) { map_on_top(); }

} // namespace

KTEST(kmap_local, k13_interrupt_maps_on_top_and_a_leak_is_caught_at_exit) {
    Pages pages;
    if (!pages.ok)
        KTEST_SKIP("needs free highmem pages");
    KTEST_EXPECT_WARN("kmap_local.irq_leak", 1);
    start_on_top(pages.p[2], /*leak=*/false);
    x86::set_interrupt_handler(x86::VECTOR_TEST, mapping_interrupt);
    void* a = kmap_local_page(pages.p[0]);
    void* b = kmap_local_page(pages.p[1]);
    asm volatile("int %0" : : "i"(x86::VECTOR_TEST) : "memory");
    EXPECT_EQ(on_top.mapped_at, slot(position(2)));   // on top of the task's two
    EXPECT_EQ(on_top.depth_inside, 3);
    EXPECT_EQ(on_top.content_ok, 1u);
    EXPECT_EQ(kmap_local_depth(), 2);
    // A handler that returns holding its mapping: caught and undone at exit.
    on_top.leak = true;
    asm volatile("int %0" : : "i"(x86::VECTOR_TEST) : "memory");
    EXPECT_EQ(kmap_local_depth(), 2);
    EXPECT_FALSE(readable(slot(position(2))));
    kunmap_local(b);
    kunmap_local(a);
    x86::set_interrupt_handler(x86::VECTOR_TEST, nullptr);
}

namespace {

// The case's own two mappings (patterns 1 and 2), held while something runs
// on top of them.
struct TwoBelow : Pinned {
    void* a;
    void* b;
    explicit TwoBelow(const Pages& pages)
        : a(kmap_local_page(pages.p[0])), b(kmap_local_page(pages.p[1])) {
        fill(a, 1);
        fill(b, 2);
    }
    ~TwoBelow() {
        kunmap_local(b);
        kunmap_local(a);
    }
};

// One run on top, which found the case's two mappings and left them as it
// found them: the depth, the empty slot above them, their contents.
void expect_one_run_left_no_trace(ktest::Context& ktest_ctx, const TwoBelow& below) {
    EXPECT_EQ(on_top.runs, 1u);
    EXPECT_EQ(on_top.mapped_at, slot(position(2)));
    EXPECT_EQ(on_top.depth_inside, 3);
    EXPECT_EQ(on_top.content_ok, 1u);
    EXPECT_EQ(kmap_local_depth(), 2);
    EXPECT_EQ(pte_at(slot(position(2))).raw(), 0u);
    EXPECT_FALSE(readable(slot(position(2))));
    EXPECT_EQ(mismatches(below.a, 1), 0u);
    EXPECT_EQ(mismatches(below.b, 2), 0u);
}

// The #PF path: a secondary-TLB notifier is called from it, under the
// region's page-table lock, when a fault fills a page (the upgrade).
void notifier_maps_on_top(SecondaryTlbNotifier&, u32, u32) { map_on_top(); }
const SecondaryTlbOps maps_on_top_ops = {.invalidate_secondary_tlbs = notifier_maps_on_top};

struct RegionMappingOnFault : Pinned {
    test_support::Region region{1, "kmap-on-fault"};
    FaultableRegion* r = region.r;
    SecondaryTlbNotifier n;
    test_support::NotifierRegistration registration{n, region, maps_on_top_ops};
    bool ok = registration.ok();
};

void fault_under_two_mappings(ktest::Context& ktest_ctx, bool leak) {
    Pages pages;
    if (!pages.ok)
        KTEST_SKIP("needs free highmem pages");
    if (leak)
        KTEST_EXPECT_WARN("kmap_local.exception_leak", 1);
    RegionMappingOnFault region;
    ASSERT_TRUE(region.ok);
    start_on_top(pages.p[2], leak);
    TwoBelow below(pages);
    // The fault zeroes the new page through kmap_local, then notifies.
    const u32 word = 0x600df00d;
    EXPECT_EQ(copy_to_region(reinterpret_cast<void*>(region.r->base), &word, 4), 0u);
    EXPECT_EQ(region.r->faults.load(), 1u);
    expect_one_run_left_no_trace(ktest_ctx, below);
}

// A cross-CPU callback run from a wait loop, not from the IPI: the case
// keeps interrupts off on its CPU while a thread on another CPU queues the
// call, then runs its queue itself, as smp_call_function_many's wait loop
// does.
void call_maps_on_top(void*) { map_on_top(); }

struct CallSender {
    unsigned target;
    Atomic<u32> go{0};
    Atomic<u32> queued{0};
};

void queue_call_when_told(void* arg) {
    auto* s = static_cast<CallSender*>(arg);
    while (!s->go.load())
        x86::pause();
    x86::smp_call_function_single(s->target, call_maps_on_top, nullptr, /*wait=*/false);
    s->queued.store(1);
}

void call_from_a_wait_loop_under_two_mappings(ktest::Context& ktest_ctx, bool leak) {
    if (x86::num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    Pages pages;
    if (!pages.ok)
        KTEST_SKIP("needs free highmem pages");
    if (leak)
        KTEST_EXPECT_WARN("kmap_local.call_leak", 1);
    sched::MigrateGuard stay;   // the call's target is this CPU
    static CallSender sender;
    sender.target = cpu();
    sender.go.store(0);
    sender.queued.store(0);
    sched::KthreadOptions elsewhere;
    elsewhere.allowed = x86::cpu_online_mask.load() & ~x86::cpu_bit(cpu());
    // Created before the mappings: creating a thread while holding them WARNs (K16).
    Task* t = sched::kthread_create(queue_call_when_told, &sender, "kmap-call-sender", elsewhere);
    ASSERT_NOT_NULL(t);
    start_on_top(pages.p[2], leak);
    TwoBelow below(pages);
    u32 runs_from_the_wait_loop;
    {
        // The IPI stays pending: only the call below can run the callback.
        const u32 flags = x86::irq_save();
        sender.go.store(1);
        const u64 deadline = x86::now_ns() + 2000000000ull;   // queuing takes microseconds
        while (!sender.queued.load() && x86::now_ns() < deadline)
            x86::pause();
        x86::smp_process_pending_calls();
        runs_from_the_wait_loop = on_top.runs;
        x86::irq_restore(flags);
    }
    sched::kthread_join(t);
    EXPECT_EQ(sender.queued.load(), 1u);
    EXPECT_EQ(runs_from_the_wait_loop, 1u);
    EXPECT_FALSE(on_top.irqs_on);
    EXPECT_FALSE(on_top.hardirq);
    EXPECT_EQ(on_top.task, sched::current());
    expect_one_run_left_no_trace(ktest_ctx, below);
}

} // namespace

KTEST(kmap_local, k13_fault_path_that_maps_and_unmaps_leaves_the_depth_it_found) {
    fault_under_two_mappings(ktest_ctx, /*leak=*/false);
}

KTEST(kmap_local, k13_fault_path_that_leaks_a_mapping_is_caught_at_exception_exit) {
    fault_under_two_mappings(ktest_ctx, /*leak=*/true);
}

KTEST(kmap_local, k13_callback_from_a_wait_loop_that_maps_and_unmaps_leaves_the_depth) {
    call_from_a_wait_loop_under_two_mappings(ktest_ctx, /*leak=*/false);
}

KTEST(kmap_local, k13_callback_from_a_wait_loop_that_leaks_a_mapping_is_caught) {
    call_from_a_wait_loop_under_two_mappings(ktest_ctx, /*leak=*/true);
}

// ---- debug-build guard slots (K15) -----------------------------------------------

KTEST(kmap_local, k15_debug_guard_slots_fault_one_byte_past_the_page) {
    if (KM_INCR != 2)
        KTEST_SKIP("guard slots are a debug-build feature");
    Pages pages;
    if (!pages.ok)
        KTEST_SKIP("needs free highmem pages");
    auto* a = static_cast<u8*>(kmap_local_page(pages.p[0]));
    auto* b = static_cast<u8*>(kmap_local_page(pages.p[1]));
    EXPECT_EQ(reinterpret_cast<u32>(a), slot(1));   // odd positions only
    EXPECT_EQ(reinterpret_cast<u32>(b), slot(3));
    EXPECT_EQ(pte_at(slot(0)).raw(), 0u);
    EXPECT_EQ(pte_at(slot(2)).raw(), 0u);
    EXPECT_EQ(pte_at(slot(4)).raw(), 0u);
    EXPECT_FALSE(x86::nofault_write8(a + PAGE_SIZE, 1).ok);   // one byte past
    EXPECT_FALSE(x86::nofault_write8(b + PAGE_SIZE, 1).ok);
    EXPECT_FALSE(x86::nofault_write8(b - 1, 1).ok);           // one byte before
    EXPECT_TRUE(x86::nofault_write8(a + PAGE_SIZE - 1, 1).ok);
    kunmap_local(b);
    kunmap_local(a);
}

// ---- task life (K16, exit) ------------------------------------------------------

namespace {
int child_depth = -1;
void report_depth(void*) { child_depth = kmap_local_depth(); }

void exit_holding_a_mapping(void* page) {
    void* va = kmap_local_page(static_cast<Page*>(page));
    *static_cast<volatile u32*>(va) = 1;
}
} // namespace

KTEST(kmap_local, k16_a_thread_created_while_holding_mappings_starts_empty) {
    Page* page = alloc_highmem_page();
    if (!page)
        KTEST_SKIP("needs a free highmem page");
    KTEST_EXPECT_WARN("kmap_local.fork_with_mappings", 1);
    void* va = kmap_local_page(page);
    child_depth = -1;
    Task* child = sched::kthread_create(report_depth, nullptr, "kmap-child");
    ASSERT_NOT_NULL(child);
    sched::kthread_join(child);
    EXPECT_EQ(child_depth, 0);
    EXPECT_EQ(kmap_local_depth(), 1);
    kunmap_local(va);
    free_page(page);
}

KTEST(kmap_local, a_task_that_exits_holding_mappings_warns_and_is_cleaned_up) {
    Page* page = alloc_highmem_page();
    if (!page)
        KTEST_SKIP("needs a free highmem page");
    KTEST_EXPECT_WARN("kmap_local.exit_with_mappings", 1);
    sched::KthreadOptions same_cpu;
    same_cpu.allowed = x86::cpu_bit(cpu());
    same_cpu.cpu = static_cast<int>(cpu());
    Task* t = sched::kthread_create(exit_holding_a_mapping, page, "kmap-leaker", same_cpu);
    ASSERT_NOT_NULL(t);
    sched::kthread_join(t);
    EXPECT_EQ(pte_at(slot(position(0))).raw(), 0u);
    EXPECT_FALSE(readable(slot(position(0))));
    free_page(page);
}

// ---- kmap_atomic (A1, A3) --------------------------------------------------------

namespace {
// A task that stays runnable on this CPU until told to stop: a switch away
// from the case would have somewhere to go.
struct ReadyNeighbour {
    Atomic<u32> stop{0};
    Task* task = nullptr;
    static void spin(void* arg) {
        auto* n = static_cast<ReadyNeighbour*>(arg);
        while (!n->stop.load(MemoryOrder::Relaxed))
            x86::pause();
    }
    ReadyNeighbour() {
        sched::KthreadOptions same_cpu;
        same_cpu.allowed = x86::cpu_bit(cpu());
        same_cpu.cpu = static_cast<int>(cpu());
        task = sched::kthread_create(spin, this, "ready-neighbour", same_cpu);
    }
    ~ReadyNeighbour() {
        stop.store(1);
        if (task)
            sched::kthread_join(task);
    }
};

struct SwitchCount {
    u32 cpu_switches = sched::sched_stats(cpu()).switches;
    u32 mine = sched::current()->switches_in;
    bool unchanged() const {
        return sched::sched_stats(cpu()).switches == cpu_switches &&
               sched::current()->switches_in == mine;
    }
};
} // namespace

// A1, and A2's first half: kmap_atomic's side effects, for a highmem and a
// lowmem page, shown by a real attempt to give up the CPU - yield(), with
// another task ready here - that reports the atomic sleep and does not switch.
KTEST(kmap_local, a1_kmap_atomic_disables_preemption_and_faults_for_any_page) {
    if (kmap_audit_enabled())
        KTEST_SKIP("kmap.audit: kmap_atomic has no side effects to check");
    KTEST_EXPECT_WARN("sched.might_sleep", 2);
    Page* high = alloc_highmem_page();
    Page* low = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(low);
    ReadyNeighbour neighbour;
    ASSERT_NOT_NULL(neighbour.task);
    Page* pages[2] = {high, low};
    for (Page* p : pages) {
        if (!p) {
            might_sleep();   // keep the WARN count exact without highmem
            const u32 flags = x86::irq_save();
            might_sleep();
            x86::irq_restore(flags);
            continue;
        }
        const u32 preempt = sched::preempt_count();
        void* va = kmap_atomic(p);
        EXPECT_EQ(sched::preempt_count(), preempt + 1);
        EXPECT_TRUE(sched::pagefault_disabled());
        EXPECT_TRUE(sched::in_atomic());
        const SwitchCount before;
        sched::yield();   // the side effect conversions must know about
        EXPECT_TRUE(before.unchanged());
        kunmap_atomic(va);
        EXPECT_EQ(sched::preempt_count(), preempt);
        EXPECT_FALSE(sched::pagefault_disabled());
    }
    if (high)
        free_page(high);
    free_page(low);
}

// A2: schedule() itself, and a timed sleep, inside kmap_atomic: "scheduling
// while atomic" and, for a task that is still runnable, no switch (a task
// that marked itself asleep does switch: see the pkmap P7 case).
KTEST(kmap_local, a2_schedule_or_sleep_inside_kmap_atomic_warns_and_does_not_switch) {
    if (kmap_audit_enabled())
        KTEST_SKIP("kmap.audit: kmap_atomic has no side effects to check");
    KTEST_EXPECT_WARN("sched.schedule_while_atomic", 1);
    KTEST_EXPECT_WARN("sched.might_sleep", 1);
    Page* page = alloc_highmem_page();
    if (!page)
        page = alloc_page(Gfp::Kernel);   // the side effects are the same
    ASSERT_NOT_NULL(page);
    ReadyNeighbour neighbour;
    ASSERT_NOT_NULL(neighbour.task);
    void* va = kmap_atomic(page);
    const SwitchCount before;
    sched::schedule();
    sched::sleep_ticks(1);
    EXPECT_TRUE(before.unchanged());
    EXPECT_EQ(sched::current()->state, sched::TaskState::Runnable);
    kunmap_atomic(va);
    free_page(page);
}

KTEST(kmap_local, a3_kmap_atomic_and_kmap_local_share_one_lifo_stack) {
    Pages pages;
    if (!pages.ok)
        KTEST_SKIP("needs free highmem pages");
    KTEST_EXPECT_WARN("kmap_local.unmap_order", 1);
    void* atomic = kmap_atomic(pages.p[0]);
    void* local = kmap_local_page(pages.p[1]);
    EXPECT_EQ(reinterpret_cast<u32>(local), slot(position(1)));
    kunmap_local(local);
    kunmap_atomic(atomic);
    EXPECT_EQ(kmap_local_depth(), 0);
    // The wrong order across the two APIs trips K3.
    atomic = kmap_atomic(pages.p[0]);
    local = kmap_local_page(pages.p[1]);
    kunmap_atomic(atomic);
    x86::local_invlpg(reinterpret_cast<u32>(local));   // see k3: the top slot was cleared
    kunmap_local(atomic);
    EXPECT_EQ(kmap_local_depth(), 0);
}
