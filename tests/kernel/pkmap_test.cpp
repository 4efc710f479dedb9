// kmap() and the pkmap pool, rule by rule (linux-highmem-spec.md §4.11):
// each case is named after the invariant it proves. P8's BUGs are crash
// tests in pkmap_crash_test.cpp. Cases that assume a fresh pool start with
// pkmap_test_reset(), so they hold whatever ran before them.
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/tlb.h"
#include "lib/inject_testing.h"
#include "lib/random.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "mm/page_address.h"
#include "mm/pkmap.h"
#include "mm/pkmap_testing.h"
#include "mm/vmalloc.h"
#include "mm/zone.h"
#include "sched/sched.h"
#include "tests/kernel/stale_read.h"
#include "tests/kernel/stress/pool_traffic.h"
#include "tests/kernel/helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(pkmap);

// Every case, of every suite, ends holding no kmap() slot. A held one is
// dropped back to count 1 (mapped, unused) so later cases find a pool.
KTEST_LEAK_CHECK(pkmap) {
    if (const unsigned held = pkmap_held_slots()) {
        KTEST_FAIL("leak: %u kmap() slot(s) still held (a kmap without its kunmap)", held);
        pkmap_release_held();
    }
}

namespace {

// ---- highmem pages, filled with a pattern that names them --------------------

using stress::HighPages;
using stress::mismatches;
using stress::pattern;

// The pages a case works on (cases run one at a time).
HighPages pages;

// A case on a fresh pool (pkmap_test_reset) with `count` highmem pages, and
// the cleanup that frees them whatever happens.
#define FRESH_POOL_WITH_PAGES(count)                                                \
    CaseCleanup cleanup(end_of_case);                                               \
    KTEST_NEED_HIGHMEM(pages, count);                                               \
    ASSERT_TRUE(pkmap_test_reset())

// Every case leaves the pages freed and the pool's negative control off.
void end_of_case() {
    pkmap_test_skip_wrap_shootdown(false);
    pages.put();
}
using CaseCleanup = test_support::AtScopeExit<void (*)()>;

// ---- TLB counters of every CPU ----------------------------------------------

struct FlushSnapshot {
    x86::TlbCounters c[x86::NR_CPUS];
    x86::KernelFlushLog log[x86::NR_CPUS];   // what the TLB layer was asked
    static FlushSnapshot now() {
        FlushSnapshot s;
        for (unsigned i = 0; i < x86::NR_CPUS; ++i) {
            s.c[i] = x86::tlb_counters(i);
            s.log[i] = x86::kernel_flush_log(i);
        }
        return s;
    }
};

// Whether exactly one flush_tlb_kernel_range() was requested between the two
// snapshots (by any CPU), and of exactly [start, end); as the TLB layer saw it.
bool one_kernel_flush_of(ktest::Context& ktest_ctx, const FlushSnapshot& a, const FlushSnapshot& b,
                         u32 start, u32 end) {
    u32 requests = 0;
    unsigned by = x86::NR_CPUS;
    for (unsigned cpu = 0; cpu < x86::NR_CPUS; ++cpu) {
        const u32 n = b.log[cpu].requests - a.log[cpu].requests;
        requests += n;
        if (n)
            by = cpu;
    }
    if (requests != 1) {
        ktest_ctx.diag("flush_tlb_kernel_range was asked %u times (expected once)", requests);
        return false;
    }
    if (b.log[by].last_start != start || b.log[by].last_end != end) {
        ktest_ctx.diag("CPU %u asked to flush [%#x, %#x), expected [%#x, %#x)", by,
                       b.log[by].last_start, b.log[by].last_end, start, end);
        return false;
    }
    return true;
}

// Whether every online CPU ran exactly `full` full flushes and no invlpg
// between the two snapshots; reports the first CPU that did not.
bool every_cpu_flushed(ktest::Context& ktest_ctx, const FlushSnapshot& a, const FlushSnapshot& b,
                       u32 full) {
    bool ok = true;
    for (unsigned cpu = 0; cpu < x86::NR_CPUS; ++cpu) {
        if (!x86::cpu_online(cpu))
            continue;
        const u32 f = b.c[cpu].full_flushes - a.c[cpu].full_flushes;
        const u32 i = b.c[cpu].invlpg - a.c[cpu].invlpg;
        if (f != full || i != 0) {
            ktest_ctx.diag("CPU %u: %u full flushes (expected %u), %u invlpg (expected 0)", cpu, f,
                           full, i);
            ok = false;
        }
    }
    return ok;
}

// kmap + kunmap pages[first .. first + count): each one a slot at count 1.
void cycle(unsigned first, unsigned count) {
    for (unsigned i = first; i < first + count; ++i) {
        kmap(pages[i]);
        kunmap(pages[i]);
    }
}

unsigned slot_of(const void* va) { return pkmap_nr(reinterpret_cast<u32>(va)); }

} // namespace

// ---- P1-P3: one page ---------------------------------------------------------------

KTEST(pkmap, p1_first_kmap_of_a_fresh_pool_takes_slot_1) {
    FRESH_POOL_WITH_PAGES(1);
    void* va = kmap(pages[0]);
    EXPECT_EQ(reinterpret_cast<u32>(va), pkmap_addr(1));
    EXPECT_EQ(pkmap_count(1), 2);
    EXPECT_EQ(page_address(pages[0]), va);
    EXPECT_EQ(mismatches(va, 0), 0u);
    kunmap(pages[0]);
}

KTEST(pkmap, p2_same_page_twice_same_address_and_count_3) {
    FRESH_POOL_WITH_PAGES(1);
    const PkmapStats before = pkmap_stats();
    void* a = kmap(pages[0]);
    void* b = kmap(pages[0]);
    EXPECT_EQ(a, b);
    const unsigned nr = slot_of(a);
    EXPECT_EQ(pkmap_count(nr), 3);
    const PkmapStats after = pkmap_stats();
    EXPECT_EQ(after.misses - before.misses, 1u);
    EXPECT_EQ(after.hits - before.hits, 1u);
    kunmap(pages[0]);
    EXPECT_EQ(pkmap_count(nr), 2);
    kunmap(pages[0]);
    EXPECT_EQ(pkmap_count(nr), 1);
}

KTEST(pkmap, p3_last_kunmap_keeps_pte_and_address_and_flushes_nothing) {
    FRESH_POOL_WITH_PAGES(1);
    void* va = kmap(pages[0]);
    const unsigned nr = slot_of(va);
    const x86::Pte pte = pkmap_pte(nr);
    const FlushSnapshot f0 = FlushSnapshot::now();
    const PkmapStats s0 = pkmap_stats();
    kunmap(pages[0]);
    EXPECT_EQ(pkmap_count(nr), 1);
    EXPECT_EQ(pkmap_pte(nr).raw(), pte.raw());
    EXPECT_TRUE(pte.present());
    EXPECT_EQ(page_address(pages[0]), va);
    EXPECT_EQ(mismatches(va, 0), 0u);   // still mapped: the slot is only unused
    // Again: the same slot, found by the hash: a hit, no new slot, no flush.
    void* again = kmap(pages[0]);
    EXPECT_EQ(again, va);
    EXPECT_EQ(pkmap_count(nr), 2);
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(s1.hits - s0.hits, 1u);
    EXPECT_EQ(s1.misses - s0.misses, 0u);
    EXPECT_EQ(s1.flushes - s0.flushes, 0u);
    EXPECT_TRUE(every_cpu_flushed(ktest_ctx, f0, FlushSnapshot::now(), 0));
    kunmap(pages[0]);
}

// ---- P4-P6: the wrap ----------------------------------------------------------------

// The "one wrap" test: on 1, 4 and 8 CPUs (the matrix), one wrap is one
// flush_tlb_kernel_range of exactly the pool, so one full flush on every
// online CPU, the initiator included.
KTEST(pkmap, p4_wrap_clears_unused_slots_with_one_full_flush_on_every_cpu) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP);
    cycle(0, LAST_PKMAP - 1);   // slots 1 .. LAST_PKMAP-1, each at count 1
    for (u32 nr = 1; nr < LAST_PKMAP; ++nr)
        ASSERT_EQ(pkmap_count(nr), 1);
    const PkmapStats s0 = pkmap_stats();
    const FlushSnapshot f0 = FlushSnapshot::now();
    void* va = kmap(pages[LAST_PKMAP - 1]);
    const FlushSnapshot f1 = FlushSnapshot::now();
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(reinterpret_cast<u32>(va), pkmap_addr(0));
    EXPECT_EQ(s1.wraps - s0.wraps, 1u);
    EXPECT_EQ(s1.flushes - s0.flushes, 1u);
    EXPECT_EQ(s1.slots_cleared - s0.slots_cleared, LAST_PKMAP - 1);
    EXPECT_TRUE(one_kernel_flush_of(ktest_ctx, f0, f1, pkmap_addr(0), pkmap_addr(LAST_PKMAP)));
    EXPECT_TRUE(every_cpu_flushed(ktest_ctx, f0, f1, 1));
    unsigned still_there = 0;
    for (u32 nr = 1; nr < LAST_PKMAP; ++nr)
        still_there += pkmap_count(nr) != 0 || !pkmap_pte(nr).none() ||
                       page_address(pages[nr - 1]) != nullptr;
    EXPECT_EQ(still_there, 0u);
    EXPECT_EQ(mismatches(va, LAST_PKMAP - 1), 0u);
    kunmap(pages[LAST_PKMAP - 1]);
}

KTEST(pkmap, p5_after_the_wrap_the_next_miss_takes_slot_1_without_a_flush) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP + 1);
    cycle(0, LAST_PKMAP);   // the last one wrapped into slot 0
    const PkmapStats s0 = pkmap_stats();
    const FlushSnapshot f0 = FlushSnapshot::now();
    void* va = kmap(pages[LAST_PKMAP]);
    EXPECT_EQ(reinterpret_cast<u32>(va), pkmap_addr(1));
    EXPECT_TRUE(every_cpu_flushed(ktest_ctx, f0, FlushSnapshot::now(), 0));
    kunmap(pages[LAST_PKMAP]);
    // And none until the cursor wraps again: LAST_PKMAP - 2 more misses.
    cycle(0, LAST_PKMAP - 2);
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(s1.flushes - s0.flushes, 0u);
    EXPECT_EQ(s1.wraps - s0.wraps, 0u);
    EXPECT_TRUE(every_cpu_flushed(ktest_ctx, f0, FlushSnapshot::now(), 0));
}

KTEST(pkmap, p6_a_wrap_with_no_unused_slot_flushes_nothing) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP);
    for (unsigned i = 0; i < LAST_PKMAP - 1; ++i)   // slots 1.., all held
        kmap(pages[i]);
    const PkmapStats s0 = pkmap_stats();
    const FlushSnapshot f0 = FlushSnapshot::now();
    void* va = kmap(pages[LAST_PKMAP - 1]);   // wraps; slot 0 is free
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(reinterpret_cast<u32>(va), pkmap_addr(0));
    EXPECT_EQ(s1.wraps - s0.wraps, 1u);
    EXPECT_EQ(s1.flushes - s0.flushes, 0u);
    EXPECT_TRUE(every_cpu_flushed(ktest_ctx, f0, FlushSnapshot::now(), 0));
    for (unsigned i = 0; i < LAST_PKMAP; ++i)
        kunmap(pages[i]);
}

// ---- P7: a full pool --------------------------------------------------------------------

namespace {

struct Waiter {
    Page* page;
    unsigned index;
    void* got = nullptr;
    u32 bad_words = 0;
    Atomic<u32> done{0};
};

void kmap_and_report(void* arg) {
    auto* w = static_cast<Waiter*>(arg);
    w->got = kmap(w->page);   // sleeps: every slot is held
    w->bad_words = mismatches(w->got, w->index);
    w->done.store(1);
}

// Until the waiter has its slot; before the join, whose freeing of the
// thread's stack flushes TLBs of its own.
void wait_done(const Waiter& w) {
    while (!w.done.load())
        sched::sleep_ticks(1);
}

// The CPU for a waiter: another one than the caller's if there is one.
int other_cpu() {
    const unsigned n = x86::num_online_cpus();
    return n > 1 ? static_cast<int>(n - 1) : 0;
}

sched::Task* start_waiter(Waiter& w, const char* name) {
    sched::KthreadOptions opts;
    opts.cpu = other_cpu();
    opts.allowed = x86::cpu_bit(static_cast<unsigned>(opts.cpu));
    return sched::kthread_create(kmap_and_report, &w, name, opts);
}

// Wait (bounded) until `n` more kmap callers sleep on the pool than at `s0`.
bool sleeping_on_pool(const PkmapStats& s0, u32 n, sched::Task* const* tasks, unsigned count) {
    const u64 deadline = x86::now_ns() + 5'000'000'000ull;
    while (x86::now_ns() < deadline) {
        bool all = pkmap_stats().waits - s0.waits == n;
        for (unsigned i = 0; i < count; ++i)
            all = all && tasks[i]->state == sched::TaskState::Sleeping;
        if (all)
            return true;
        sched::sleep_ticks(1);
    }
    return false;
}

void hold_every_slot() {
    for (unsigned i = 0; i < LAST_PKMAP; ++i)
        kmap(pages[i]);
}

// The end of a case that held every slot: the holds still there, all but
// those the case dropped itself to wake a waiter.
void release_every_slot_but(unsigned dropped, unsigned dropped_too = LAST_PKMAP) {
    for (unsigned i = 0; i < LAST_PKMAP; ++i)
        if (i != dropped && i != dropped_too)
            kunmap(pages[i]);
}

} // namespace

KTEST(pkmap, p7_full_pool_kmap_sleeps_until_a_kunmap_on_another_cpu) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP + 1);
    hold_every_slot();
    EXPECT_EQ(pkmap_held_slots(), LAST_PKMAP);
    const PkmapStats s0 = pkmap_stats();
    Waiter w{pages[LAST_PKMAP], LAST_PKMAP};
    sched::Task* t = start_waiter(w, "pkmap-waiter");
    ASSERT_NOT_NULL(t);
    const bool slept = sleeping_on_pool(s0, 1, &t, 1);
    EXPECT_TRUE(slept);
    EXPECT_NULL(w.got);
    // A kunmap here (on another CPU than the waiter's, if there are two)
    // drops slot 7's page to count 1 and wakes the waiter; it gets slot 7
    // only after its scan reaches the wrap and flushes.
    const unsigned freed = slot_of(page_address(pages[7]));
    const FlushSnapshot f0 = FlushSnapshot::now();
    kunmap(pages[7]);
    wait_done(w);
    const FlushSnapshot f1 = FlushSnapshot::now();
    sched::kthread_join(t);
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(reinterpret_cast<u32>(w.got), pkmap_addr(freed));
    EXPECT_EQ(w.bad_words, 0u);
    EXPECT_EQ(s1.waits - s0.waits, 1u);
    EXPECT_EQ(s1.flushes - s0.flushes, 1u);
    EXPECT_EQ(s1.slots_cleared - s0.slots_cleared, 1u);
    EXPECT_TRUE(every_cpu_flushed(ktest_ctx, f0, f1, 1));
    EXPECT_NULL(page_address(pages[7]));
    // A kmap() address belongs to no task: this one releases the waiter's.
    kunmap(pages[LAST_PKMAP]);
    release_every_slot_but(7);
}

KTEST(pkmap, p7_a_woken_waiter_takes_the_slot_another_waiter_mapped_for_its_page) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP + 1);
    hold_every_slot();
    const PkmapStats s0 = pkmap_stats();
    // Two tasks want the same page; one kunmap wakes both. Whichever takes
    // the lock first maps the page; the other must find it and share it.
    Waiter a{pages[LAST_PKMAP], LAST_PKMAP};
    Waiter b{pages[LAST_PKMAP], LAST_PKMAP};
    sched::Task* tasks[2] = {start_waiter(a, "pkmap-waiter-a"), start_waiter(b, "pkmap-waiter-b")};
    ASSERT_NOT_NULL(tasks[0]);
    ASSERT_NOT_NULL(tasks[1]);
    EXPECT_TRUE(sleeping_on_pool(s0, 2, tasks, 2));
    const unsigned freed = slot_of(page_address(pages[3]));
    kunmap(pages[3]);
    sched::kthread_join(tasks[0]);
    sched::kthread_join(tasks[1]);
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(a.got, b.got);
    EXPECT_EQ(reinterpret_cast<u32>(a.got), pkmap_addr(freed));
    EXPECT_EQ(pkmap_count(freed), 3);
    EXPECT_EQ(s1.waits - s0.waits, 2u);
    EXPECT_EQ(s1.waits_found_mapped - s0.waits_found_mapped, 1u);
    EXPECT_EQ(s1.flushes - s0.flushes, 1u);
    EXPECT_EQ(a.bad_words + b.bad_words, 0u);
    kunmap(pages[LAST_PKMAP]);
    kunmap(pages[LAST_PKMAP]);
    release_every_slot_but(3);
}

// ---- P7: the sleeper's windows, forced -----------------------------------------------

namespace {

// The injection hook's side of one case: which task it acts for, at which
// point, and the handshake with the case's own thread.
struct Window {
    sched::Task* task = nullptr;     // the waiter; other tasks pass through
    const InjectPoint* point = nullptr;
    Atomic<u32> entered{0};          // the waiter reached the point (times)
    Atomic<u32> release{0};          // the case lets it go on
    u32 timed_out = 0;
};
Window window;

void hold_in_window(const InjectPoint& point) {
    if (&point != window.point || sched::current() != window.task || window.entered.load())
        return;
    window.entered.store(1);
    // Preemptible, and the waiter may be marked asleep: spin, do not sleep.
    const u64 deadline = x86::now_ns() + 5'000'000'000ull;
    while (!window.release.load() && x86::now_ns() < deadline)
        x86::pause();
    window.timed_out = !window.release.load();
}

bool wait_until(const Atomic<u32>& flag) {
    const u64 deadline = x86::now_ns() + 5'000'000'000ull;
    while (!flag.load()) {
        if (x86::now_ns() > deadline)
            return false;
        sched::sleep_ticks(1);
    }
    return true;
}

void kmap_as_window_task(void* arg) {
    window.task = sched::current();
    kmap_and_report(arg);
}

// Every slot held (on a fresh pool), then a waiter for page LAST_PKMAP on
// another CPU that the injection hook will hold at `point`.
sched::Task* start_window_waiter(Waiter& w, const InjectPoint& point, PkmapStats* before) {
    hold_every_slot();
    *before = pkmap_stats();
    window.task = nullptr;
    window.point = &point;
    window.entered.store(0);
    window.release.store(0);
    window.timed_out = 0;
    sched::KthreadOptions opts;
    opts.cpu = other_cpu();
    opts.allowed = x86::cpu_bit(static_cast<unsigned>(opts.cpu));
    return sched::kthread_create(kmap_as_window_task, &w, "pkmap-window", opts);
}

// A case's waiter on a full pool, held at one injection point.
struct WindowWaiter : Pinned {
    Waiter w{pages[LAST_PKMAP], LAST_PKMAP};
    InjectHookGuard hook{hold_in_window};
    PkmapStats before;
    sched::Task* task;
    explicit WindowWaiter(const InjectPoint& point) : task(start_window_waiter(w, point, &before)) {}
};

} // namespace

// The lost-wake-up window: the waiter has dropped the lock but not yet
// called schedule() when the kunmap comes. The kunmap sees it counted and
// wakes it (it is still queued: the wake-up makes it runnable), so its
// schedule() returns at once and it takes the slot after the wrap.
KTEST(pkmap, p7_a_kunmap_between_the_waiters_unlock_and_its_sleep_is_not_lost) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP + 1);
    WindowWaiter waiter(pkmap_sleep_unlocked);
    ASSERT_NOT_NULL(waiter.task);
    const bool in_window = wait_until(window.entered);
    EXPECT_TRUE(in_window);
    const unsigned freed = slot_of(page_address(pages[7]));
    kunmap(pages[7]);               // inside the window
    window.release.store(1);
    const bool got_it = wait_until(waiter.w.done);
    EXPECT_TRUE(got_it);            // a lost wake-up leaves it asleep here
    if (!got_it)
        kunmap(pages[8]);           // wake it, so the case can end
    sched::kthread_join(waiter.task);
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(window.timed_out, 0u);
    EXPECT_EQ(s1.waits - waiter.before.waits, 1u);
    if (got_it)
        EXPECT_EQ(reinterpret_cast<u32>(waiter.w.got), pkmap_addr(freed));
    EXPECT_EQ(waiter.w.bad_words, 0u);
    kunmap(pages[LAST_PKMAP]);
    release_every_slot_but(7, got_it ? LAST_PKMAP : 8);
}

// Woken by a kunmap, the waiter loses the freed slot to another kmap before
// it retakes the lock: it finds no free slot and must sleep again (not spin,
// not take a held slot), and the next kunmap gives it one.
KTEST(pkmap, p7_a_woken_waiter_whose_slot_was_taken_sleeps_again) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP + 2);
    WindowWaiter waiter(pkmap_woken);
    ASSERT_NOT_NULL(waiter.task);
    EXPECT_TRUE(sleeping_on_pool(waiter.before, 1, &waiter.task, 1));
    const unsigned first = slot_of(page_address(pages[7]));
    kunmap(pages[7]);                                   // wakes it...
    EXPECT_TRUE(wait_until(window.entered));
    void* thief = kmap(pages[LAST_PKMAP + 1]);          // ...and the slot goes here
    EXPECT_EQ(reinterpret_cast<u32>(thief), pkmap_addr(first));
    window.release.store(1);
    EXPECT_TRUE(sleeping_on_pool(waiter.before, 2, &waiter.task, 1));        // asleep again
    EXPECT_NULL(waiter.w.got);
    const unsigned second = slot_of(page_address(pages[9]));
    kunmap(pages[9]);
    EXPECT_TRUE(wait_until(waiter.w.done));
    sched::kthread_join(waiter.task);
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(window.timed_out, 0u);
    EXPECT_EQ(reinterpret_cast<u32>(waiter.w.got), pkmap_addr(second));
    EXPECT_EQ(waiter.w.bad_words, 0u);
    EXPECT_EQ(s1.waits - waiter.before.waits, 2u);
    EXPECT_EQ(s1.flushes - waiter.before.flushes, 2u);   // one wrap per freed slot taken
    kunmap(pages[LAST_PKMAP]);
    kunmap(pages[LAST_PKMAP + 1]);
    release_every_slot_but(7, 9);
}

// A kmap that must sleep from inside preempt_disable() is a bug, reported as
// such; the task that runs next on that CPU must not inherit the sleeper's
// preempt count (before, it ran non-preemptible from then on), and the
// sleeper gets its own count back when it runs again.
namespace {
struct AtomicSleeper {
    Page* page;
    u32 count_before = 0;
    u32 count_after = ~0u;
    Atomic<u32> done{0};
};

void kmap_inside_preempt_disable(void* arg) {
    auto* a = static_cast<AtomicSleeper*>(arg);
    {
        sched::PreemptGuard atomic;
        a->count_before = sched::preempt_count();
        kmap(a->page);   // every slot is held: it sleeps
        a->count_after = sched::preempt_count();
    }
    a->done.store(1);
}

u32 seen_count = ~0u;
void read_preempt_count(void*) { seen_count = sched::preempt_count(); }
} // namespace

KTEST(pkmap, p7_sleeping_in_kmap_with_preemption_off_leaves_the_next_task_a_clean_count) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP + 1);
    KTEST_EXPECT_WARN("sched.might_sleep", 1);
    KTEST_EXPECT_WARN("sched.schedule_while_atomic", 1);
    hold_every_slot();
    const PkmapStats s0 = pkmap_stats();
    AtomicSleeper a{pages[LAST_PKMAP]};
    sched::KthreadOptions there;
    there.cpu = other_cpu();
    there.allowed = x86::cpu_bit(static_cast<unsigned>(there.cpu));
    sched::Task* sleeper = sched::kthread_create(kmap_inside_preempt_disable, &a, "atomic-kmap", there);
    ASSERT_NOT_NULL(sleeper);
    EXPECT_TRUE(sleeping_on_pool(s0, 1, &sleeper, 1));
    seen_count = ~0u;
    sched::Task* next = sched::kthread_create(read_preempt_count, nullptr, "next-on-cpu", there);
    ASSERT_NOT_NULL(next);
    sched::kthread_join(next);
    EXPECT_EQ(seen_count, 0u);
    kunmap(pages[7]);
    EXPECT_TRUE(wait_until(a.done));
    sched::kthread_join(sleeper);
    EXPECT_EQ(a.count_before, 1u);
    EXPECT_EQ(a.count_after, 1u);
    kunmap(pages[LAST_PKMAP]);
    release_every_slot_but(7);
}

// ---- cross-CPU calls from both sides ------------------------------------------------

// vfree reaches flush_tlb_kernel_range from preemptible task context; a pool
// wrap reaches it under the pool lock. Here both run at once for a while:
// vmalloc/vfree loops on CPU 1 (allowed on CPU 2 too, so they may be moved
// while they flush), kmap() loops over twice the pool on CPUs 1 and 2 (so
// the pool wraps and shoots down again and again). No call may hang (the
// watchdog), and no read - of a kmap() page or of a fresh vmalloc area - may
// see another page than its own.
namespace {
struct CrossCalls {
    Atomic<u32> stop{0};
    u64 deadline_ns = 0;
    Atomic<u32> vfrees{0};
    Atomic<u32> kmaps{0};
    Atomic<u32> bad_vmalloc{0};
    Atomic<u32> bad_kmap{0};
};
CrossCalls cross;

constexpr u32 VMALLOC_LOOP_PAGES = 4;

bool cross_calls_over() {
    return cross.stop.load(MemoryOrder::Relaxed) || x86::now_ns() > cross.deadline_ns;
}

void vmalloc_vfree_loop(void* arg) {
    const u32 who = static_cast<u32>(reinterpret_cast<uintptr_t>(arg));
    for (u32 round = 1; !cross_calls_over(); ++round) {
        auto* w = static_cast<volatile u32*>(vmalloc(VMALLOC_LOOP_PAGES * PAGE_SIZE, "vfree-loop"));
        if (!w) {
            sched::yield();
            continue;
        }
        const u32 seed = (who << 24) ^ (round * 0x9e3779b1u);
        constexpr u32 WORDS = VMALLOC_LOOP_PAGES * PAGE_SIZE / 4;
        for (u32 i = 0; i < WORDS; i += 64)
            w[i] = seed + i;
        u32 bad = 0;
        for (u32 i = 0; i < WORDS; i += 64)
            bad += w[i] != seed + i;
        cross.bad_vmalloc.fetch_add(bad);
        vfree(const_cast<u32*>(w));
        cross.vfrees.fetch_add(1);
    }
}

void kmap_loop(void* arg) {
    unsigned i = static_cast<unsigned>(reinterpret_cast<uintptr_t>(arg));
    while (!cross_calls_over()) {
        void* va = kmap(pages[i]);
        cross.bad_kmap.fetch_add(mismatches(va, i) != 0);
        kunmap(pages[i]);
        cross.kmaps.fetch_add(1);
        i = (i + 1) % pages.n;
    }
}
} // namespace

KTEST(pkmap, vfree_on_one_cpu_and_kmap_wraps_on_two_neither_hang_nor_read_stale) {
    CaseCleanup cleanup(end_of_case);
    if (x86::num_online_cpus() < 3)
        KTEST_SKIP("needs three CPUs");
    KTEST_NEED_HIGHMEM(pages, 2 * LAST_PKMAP);
    ASSERT_TRUE(pkmap_test_reset());
    cross.stop.store(0);
    cross.vfrees.store(0);
    cross.kmaps.store(0);
    cross.bad_vmalloc.store(0);
    cross.bad_kmap.store(0);
    cross.deadline_ns = x86::now_ns() + 2'000'000'000ull * ktest::stress_scale();
    const PkmapStats s0 = pkmap_stats();
    sched::KthreadOptions on1, on2, on1_or_2;
    on1.cpu = on1_or_2.cpu = 1;
    on2.cpu = 2;
    on1.allowed = x86::cpu_bit(1);
    on2.allowed = x86::cpu_bit(2);
    on1_or_2.allowed = x86::cpu_bit(1) | x86::cpu_bit(2);
    sched::Task* tasks[4] = {
        sched::kthread_create(vmalloc_vfree_loop, reinterpret_cast<void*>(1), "vfree-a", on1_or_2),
        sched::kthread_create(vmalloc_vfree_loop, reinterpret_cast<void*>(2), "vfree-b", on1_or_2),
        sched::kthread_create(kmap_loop, reinterpret_cast<void*>(0), "kmap-loop-1", on1),
        sched::kthread_create(kmap_loop, reinterpret_cast<void*>(LAST_PKMAP), "kmap-loop-2", on2),
    };
    for (sched::Task* t : tasks)
        ASSERT_NOT_NULL(t);
    for (sched::Task* t : tasks)
        sched::kthread_join(t);
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(cross.bad_kmap.load(), 0u);
    EXPECT_EQ(cross.bad_vmalloc.load(), 0u);
    EXPECT_GE(s1.flushes - s0.flushes, 2u);   // the pool wrapped, more than once
    EXPECT_GE(cross.vfrees.load(), 10u);
    ktest_ctx.diag("%u kmaps, %u wraps with a shootdown, %u vmalloc/vfree rounds", cross.kmaps.load(),
                   s1.flushes - s0.flushes, cross.vfrees.load());
}

// ---- P9-P12 -------------------------------------------------------------------------

KTEST(pkmap, p9_a_lowmem_page_is_its_direct_map_address_and_touches_no_pool_state) {
    Page* low = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(low);
    const PkmapStats s0 = pkmap_stats();
    const unsigned held = pkmap_held_slots();
    void* va = kmap(low);
    EXPECT_EQ(va, page_address(low));
    EXPECT_TRUE(is_direct_map_address(va));
    EXPECT_EQ(pkmap_held_slots(), held);
    kunmap(low);
    const PkmapStats s1 = pkmap_stats();
    EXPECT_EQ(s1.hits, s0.hits);
    EXPECT_EQ(s1.misses, s0.misses);
    EXPECT_EQ(pkmap_held_slots(), held);
    free_page(low);
}

KTEST(pkmap, p10_kmap_in_atomic_context_warns_might_sleep) {
    CaseCleanup cleanup(end_of_case);
    KTEST_NEED_HIGHMEM(pages, 1);
    KTEST_EXPECT_WARN("sched.might_sleep", 1);
    {
        sched::PreemptGuard atomic;
        kmap(pages[0]);   // a hit or a miss with a free slot: it does not sleep
    }
    kunmap(pages[0]);
}

KTEST(pkmap, p10_kmap_with_interrupts_off_warns_and_so_does_the_pool_lock) {
    FRESH_POOL_WITH_PAGES(1);
    KTEST_EXPECT_WARN("sched.might_sleep", 1);
    KTEST_EXPECT_WARN("pkmap.lock_irqs_off", 1);
    const u32 flags = x86::irq_save();
    kmap(pages[0]);
    x86::irq_restore(flags);
    kunmap(pages[0]);
}

KTEST(pkmap, p11_a_page_mapped_only_by_kmap_local_has_no_page_address) {
    FRESH_POOL_WITH_PAGES(1);
    void* va = kmap_local_page(pages[0]);
    EXPECT_NULL(page_address(pages[0]));
    EXPECT_EQ(mismatches(va, 0), 0u);
    kunmap_local(va);
}

KTEST(pkmap, p12_every_mapped_slot_is_in_the_hash_once) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP + LAST_PKMAP / 2);
    static_assert(PA_HASH_BUCKETS == 128);
    // Half the pages held, a wrap, the rest cycled: slots at 2 and at 1.
    Xorshift32 rng(12);
    bool held[LAST_PKMAP + LAST_PKMAP / 2] = {};
    for (unsigned i = 0; i < pages.n; ++i) {
        kmap(pages[i]);
        held[i] = rng.below(2) == 0 && i < LAST_PKMAP / 2;
        if (!held[i])
            kunmap(pages[i]);
    }
    unsigned mapped = 0, wrong = 0;
    for (u32 nr = 0; nr < LAST_PKMAP; ++nr) {
        if (pkmap_count(nr) < 1)
            continue;
        ++mapped;
        Page* p = pfn_to_page(pkmap_pte(nr).pfn());
        if (reinterpret_cast<u32>(page_address(p)) != pkmap_addr(nr)) {
            if (++wrong < 4)
                ktest_ctx.diag("slot %u: its page's address is %p", nr, page_address(p));
        }
    }
    unsigned in_hash = 0, used_buckets = 0;
    for (unsigned b = 0; b < PA_HASH_BUCKETS; ++b) {
        in_hash += page_address_bucket_size(b);
        used_buckets += page_address_bucket_size(b) != 0;
    }
    EXPECT_EQ(wrong, 0u);
    // As many entries as mapped slots, and each slot's page finds its own
    // slot: no page is in the hash twice.
    EXPECT_EQ(in_hash, mapped);
    EXPECT_GT(mapped, LAST_PKMAP / 2);
    EXPECT_GT(used_buckets, PA_HASH_BUCKETS / 2);   // the hash spreads
    for (unsigned i = 0; i < pages.n; ++i)
        if (held[i])
            kunmap(pages[i]);
}

// ---- kmap_to_page and the reset -----------------------------------------------------

KTEST(pkmap, kmap_to_page_finds_each_kind_and_warns_on_kmap_addresses) {
    CaseCleanup cleanup(end_of_case);
    KTEST_NEED_HIGHMEM(pages, 2);
    KTEST_EXPECT_WARN("pkmap.kmap_to_page", 1);
    KTEST_EXPECT_WARN("kmap_local.kmap_to_page", 1);
    void* k = kmap(pages[0]);
    EXPECT_EQ(kmap_to_page(static_cast<char*>(k) + 100), pages[0]);
    kunmap(pages[0]);
    void* l = kmap_local_page(pages[1]);
    EXPECT_EQ(kmap_to_page(l), pages[1]);
    kunmap_local(l);
    Page* low = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(low);
    EXPECT_EQ(kmap_to_page(page_address(low)), low);   // no WARN: the direct map
    free_page(low);
}

KTEST(pkmap, the_test_reset_refuses_while_a_slot_is_held) {
    CaseCleanup cleanup(end_of_case);
    KTEST_NEED_HIGHMEM(pages, 2);
    kmap(pages[0]);
    kmap(pages[1]);
    kunmap(pages[1]);
    EXPECT_FALSE(pkmap_test_reset());
    EXPECT_NE(page_address(pages[1]), nullptr);   // nothing changed
    kunmap(pages[0]);
    EXPECT_TRUE(pkmap_test_reset());
    EXPECT_NULL(page_address(pages[0]));
    EXPECT_NULL(page_address(pages[1]));
    EXPECT_EQ(reinterpret_cast<u32>(kmap(pages[1])), pkmap_addr(1));
    kunmap(pages[1]);
}

// ---- the stale-TLB proof ---------------------------------------------------------------

namespace {

// On a fresh pool, CPU B reads slot 1 while it holds page 0; then the pool
// wraps and slot 1 is given to page LAST_PKMAP + 1. Returns B's second read.
u32 b_reads_slot_1_across_a_wrap(bool skip_shootdown, u32* first) {
    void* va = kmap(pages[0]);
    static ktest::StaleRead s;
    s.start(1, static_cast<volatile u32*>(va));
    *first = s.first;
    kunmap(pages[0]);
    cycle(1, LAST_PKMAP - 2);   // slots 2 .. LAST_PKMAP-1
    pkmap_test_skip_wrap_shootdown(skip_shootdown);
    kmap(pages[LAST_PKMAP]);    // the wrap: slot 0
    pkmap_test_skip_wrap_shootdown(false);
    void* again = kmap(pages[LAST_PKMAP + 1]);
    const bool reused = again == va;
    const u32 second = s.finish();
    kunmap(pages[LAST_PKMAP + 1]);
    kunmap(pages[LAST_PKMAP]);
    x86::flush_tlb_all();   // forget what the negative control left in B
    return reused ? second : 0;
}

} // namespace

KTEST(pkmap, after_a_wrap_cpu_b_sees_the_slots_new_page) {
    CaseCleanup cleanup(end_of_case);
    if (x86::num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    KTEST_NEED_HIGHMEM(pages, LAST_PKMAP + 2);
    ASSERT_TRUE(pkmap_test_reset());
    u32 first = 0;
    EXPECT_EQ(b_reads_slot_1_across_a_wrap(false, &first), pattern(LAST_PKMAP + 1, 0));
    EXPECT_EQ(first, pattern(0, 0));
}

KTEST(pkmap, without_the_wraps_shootdown_cpu_b_reads_the_old_page) {
    CaseCleanup cleanup(end_of_case);
    if (x86::num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    KTEST_NEED_HIGHMEM(pages, LAST_PKMAP + 2);
    ASSERT_TRUE(pkmap_test_reset());
    // The negative control of the case above: it proves that case can fail.
    u32 first = 0;
    EXPECT_EQ(b_reads_slot_1_across_a_wrap(true, &first), pattern(0, 0));
    EXPECT_EQ(first, pattern(0, 0));
}

// ---- every CPU at once (tests/kernel/stress/pool_traffic.h) ---------------------------

KTEST(pkmap, every_cpu_kmaps_and_kunmaps_at_once_and_sees_the_right_pages) {
    FRESH_POOL_WITH_PAGES(LAST_PKMAP + LAST_PKMAP / 2);
    // The cursor 64 slots before the wrap (every slot behind it at count 1),
    // so the workers' first misses wrap the pool.
    cycle(0, LAST_PKMAP - 64);
    // Bounded by time as well as by count: with 8 vCPUs on 2 host cores a
    // pool-lock handoff can wait for the host to run the next vCPU in line,
    // milliseconds per operation. Past the deadline a worker still does its
    // first 20, the floor checked below.
    const stress::Budget budget = {
        .ops = 3000 * ktest::stress_scale(),
        .deadline_ns = x86::now_ns() + 8'000'000'000ull * ktest::stress_scale(),
        .floor = 20};
    const PkmapStats s0 = pkmap_stats();
    static stress::PoolTraffic traffic;
    ASSERT_TRUE(traffic.start(pages, x86::num_online_cpus(), budget));
    traffic.join();
    const PkmapStats s1 = pkmap_stats();
    const unsigned ncpu = traffic.workers();
    u32 total = 0;
    for (unsigned c = 0; c < ncpu; ++c) {
        const stress::PoolTraffic::Worker& w = traffic.worker(c);
        EXPECT_EQ(w.bad_pattern.load(), 0u);
        EXPECT_EQ(w.bad_scratch.load(), 0u);
        EXPECT_GE(w.done.load(), 20u);   // every CPU took part
        total += w.done.load();
    }
    EXPECT_GT(s1.flushes - s0.flushes, 0u);   // the wraps were part of it
    ktest_ctx.diag("%u CPUs, %u ops: %u misses, %u hits, %u wraps, %u flushes, %u waits", ncpu,
                   total, s1.misses - s0.misses, s1.hits - s0.hits, s1.wraps - s0.wraps,
                   s1.flushes - s0.flushes, s1.waits - s0.waits);
}
