// Benchmarks: numbers, never asserted (tools/himem bench prints the table;
// docs/performance.md explains it). A manual suite: it runs only when
// ktest.filter names it. Each case prints, per operation, the TSC cycles of
// the median of ktest.bench_passes passes of ktest.bench_ops operations,
// after one warm-up pass:
//
//   # bench: kmap_local_highmem: 123 tsc/op (passes: 123 123 124 123 123)
//
// Under `-icount shift=0,sleep=off` one guest instruction advances the TSC by
// one, so tsc/op is instructions per operation and repeats exactly.
#include "arch/x86/cpu.h"
#include "arch/x86/time.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "mm/pkmap.h"
#include "mm/pkmap_testing.h"
#include "sched/sched.h"
#include "tests/kernel/bench.h"
#include "tests/kernel/helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(bench, .manual = true);

namespace {

using bench::measure;
using bench::Passes;
using bench::sort_ascending;
using bench::timed;

using test_support::HighmemPages;

// The kmap() loop body, the same as the kmap_local ones: map, store, unmap.
inline void kmap_store_kunmap(Page* page, u32 i) {
    void* va = kmap(page);
    *static_cast<volatile u8*>(va) = static_cast<u8>(i);
    kunmap(page);
}

} // namespace

KTEST(bench, kmap_local_pairs) {
    Page* high = test_support::alloc_highmem_page();
    Page* low = alloc_page(Gfp::Kernel);
    if (!high || !low)
        KTEST_SKIP("needs a highmem and a lowmem page");
    const u32 n = ktest::bench_ops();
    // One map + one byte store + one unmap: the anchor's loop body.
    auto pairs = [n](Page* page) {
        return [n, page] {
            for (u32 i = 0; i < n; ++i) {
                void* va = kmap_local_page(page);
                *static_cast<volatile u8*>(va) = static_cast<u8>(i);
                kunmap_local(va);
            }
        };
    };
    auto irqs_off = [](auto body) {
        return [body] {
            const u32 flags = x86::irq_save();
            body();
            x86::irq_restore(flags);
        };
    };
    measure(ktest_ctx, "kmap_local_highmem", timed(n, pairs(high)));
    measure(ktest_ctx, "kmap_local_highmem_irqs_off", timed(n, irqs_off(pairs(high))));
    measure(ktest_ctx, "kmap_local_lowmem", timed(n, pairs(low)));
    measure(ktest_ctx, "kmap_local_lowmem_irqs_off", timed(n, irqs_off(pairs(low))));
    free_page(high);
    free_page(low);
}

KTEST(bench, kmap_local_nested_4) {
    Page* pages[4];
    for (Page*& p : pages) {
        p = test_support::alloc_highmem_page();
        if (!p)
            KTEST_SKIP("needs highmem pages");
    }
    const u32 n = ktest::bench_ops();
    measure(ktest_ctx, "kmap_local_nested_4", timed(n, [&pages, n] {
        for (u32 i = 0; i < n; ++i) {
            void* va[4];
            for (unsigned k = 0; k < 4; ++k) {
                va[k] = kmap_local_page(pages[k]);
                *static_cast<volatile u8*>(va[k]) = static_cast<u8>(i);
            }
            for (unsigned k = 4; k-- > 0;)
                kunmap_local(va[k]);
        }
    }));
    for (Page* p : pages)
        free_page(p);
}

KTEST(bench, kmap_atomic_pair) {
    Page* high = test_support::alloc_highmem_page();
    if (!high)
        KTEST_SKIP("needs a highmem page");
    const u32 n = ktest::bench_ops();
    measure(ktest_ctx, "kmap_atomic_highmem", timed(n, [high, n] {
        for (u32 i = 0; i < n; ++i) {
            void* va = kmap_atomic(high);
            *static_cast<volatile u8*>(va) = static_cast<u8>(i);
            kunmap_atomic(va);
        }
    }));
    free_page(high);
}

namespace {

struct PingPong {
    u32 yields;
    unsigned holds;
    Page* pages[2][16];
    sched::Completion go;
    Atomic<u32> ready{0};
};

void ping_pong(void* arg) {
    auto* pp = static_cast<PingPong*>(arg);
    const unsigned me = sched::current()->name[10] - '0';   // "bench-pingX"
    void* va[16];
    for (unsigned k = 0; k < pp->holds; ++k)
        va[k] = kmap_local_page(pp->pages[me][k]);
    pp->ready.fetch_add(1);
    pp->go.wait();
    for (u32 i = 0; i < pp->yields; ++i)
        sched::yield();
    for (unsigned k = pp->holds; k-- > 0;)
        kunmap_local(va[k]);
}

} // namespace

KTEST(bench, context_switch_holding_mappings) {
    constexpr unsigned MAX_HELD = (KM_MAX_IDX - 1) / KM_INCR;
    static PingPong pp;
    for (auto& side : pp.pages)
        for (Page*& p : side) {
            p = test_support::alloc_highmem_page();
            if (!p)
                KTEST_SKIP("needs highmem pages");
        }
    const unsigned held[3] = {0, 8, MAX_HELD};
    // Two threads on CPU 0 yielding to each other; the runner sleeps in join.
    const u32 yields = ktest::bench_ops() / 5 ? ktest::bench_ops() / 5 : 1;
    for (unsigned h : held) {
        char name[40];
        lib::format(name, sizeof(name), "context_switch_holding_%u", h);
        pp.holds = h;
        pp.yields = yields;
        measure(ktest_ctx, name, [&] {
            pp.go.reinit();
            pp.ready.store(0);
            sched::KthreadOptions cpu0;
            cpu0.allowed = x86::cpu_bit(0);
            cpu0.cpu = 0;
            sched::Task* a = sched::kthread_create(ping_pong, &pp, "bench-ping0", cpu0);
            sched::Task* b = sched::kthread_create(ping_pong, &pp, "bench-ping1", cpu0);
            while (pp.ready.load() < 2)
                sched::yield();
            const u32 before = sched::sched_stats(0).switches;
            const u64 start = x86::rdtsc();
            pp.go.complete_all();
            sched::kthread_join(a);
            sched::kthread_join(b);
            const u64 cycles = x86::rdtsc() - start;
            const u32 switches = sched::sched_stats(0).switches - before;
            return cycles / (switches ? switches : 1);
        });
    }
    for (auto& side : pp.pages)
        for (Page* p : side)
            free_page(p);
}

// ---- kmap(): the pkmap pool ------------------------------------------------------

KTEST(bench, kmap_hit) {
    Page* storage[1];
    HighmemPages page(storage);
    if (!page.get(1))
        KTEST_SKIP("needs a highmem page");
    // In a slot at count 1 from here on: nothing else maps, so nothing wraps.
    kmap_store_kunmap(page[0], 0);
    const PkmapStats before = pkmap_stats();
    const u32 n = ktest::bench_ops();
    measure(ktest_ctx, "kmap_hit", timed(n, [high = page[0], n] {
        for (u32 i = 0; i < n; ++i)
            kmap_store_kunmap(high, i);
    }));
    EXPECT_EQ(pkmap_stats().misses - before.misses, 0u);   // it measured what it says
}

namespace {

// Twice as many pages as slots: by the time a page comes round again, a wrap
// has cleared its slot, so every kmap is a miss.
constexpr unsigned MISS_PAGES = 2 * LAST_PKMAP;
Page* miss_storage[MISS_PAGES];
u32 miss_cost[MISS_PAGES];

struct MissCosts {
    u32 miss;   // the median op that did not wrap
    u32 wrap;   // the op that wrapped and flushed
};

// Passes over the miss path. Each starts from a fresh pool (cursor at slot
// 0, no slot mapped), so every pass wraps at the same ops: the
// (LAST_PKMAP)th miss, then one in every LAST_PKMAP.
class MissCycle {
public:
    explicit MissCycle(const HighmemPages& pages) : m_pages(pages.from(0)) {}

    // `ops` misses timed as a whole, wraps included: cycles per op.
    u64 amortized(u32 ops) {
        fresh_pool();
        const u64 start = x86::rdtsc();
        for (u32 i = 0; i < ops; ++i)
            kmap_store_kunmap(m_pages[i % MISS_PAGES], i);
        return (x86::rdtsc() - start) / ops;
    }

    // One cycle of the pages (two wraps), each op timed alone and sorted by
    // whether it wrapped. The counters are read outside the timed region.
    MissCosts each() {
        fresh_pool();
        MissCosts costs{0, 0};
        unsigned plain = 0;
        for (u32 i = 0; i < MISS_PAGES; ++i) {
            const u32 wraps = pkmap_stats().wraps;
            const u64 start = x86::rdtsc();
            kmap_store_kunmap(m_pages[i], i);
            const u32 cycles = static_cast<u32>(x86::rdtsc() - start);
            if (pkmap_stats().wraps == wraps)
                miss_cost[plain++] = cycles;
            else
                costs.wrap = cycles;   // the last one: it clears every slot, as later wraps do
        }
        sort_ascending(miss_cost, plain);
        costs.miss = miss_cost[plain / 2];
        return costs;
    }

    // Whether every reset found nothing held (nothing is, between ops).
    bool resets_ok() const { return m_resets_ok; }

private:
    void fresh_pool() { m_resets_ok = pkmap_test_reset() && m_resets_ok; }

    Page* const* m_pages;
    bool m_resets_ok = true;
};

} // namespace

KTEST(bench, kmap_miss_and_wrap) {
    HighmemPages pages(miss_storage);
    if (!pages.get(MISS_PAGES))
        KTEST_SKIP("needs 2 x LAST_PKMAP highmem pages");
    const PkmapStats before = pkmap_stats();
    MissCycle cycle(pages);

    // Whole wrap periods, and at least one cycle of the pages, so that small
    // ktest.bench_ops still wrap and every pass holds the same wraps.
    const u32 periods = (ktest::bench_ops() + LAST_PKMAP - 1) / LAST_PKMAP;
    const u32 ops = max(periods * LAST_PKMAP, MISS_PAGES);
    measure(ktest_ctx, "kmap_miss_amortized", [&cycle, ops] { return cycle.amortized(ops); });

    Passes miss, wrap;
    cycle.each();   // warm-up pass
    while (!miss.full()) {
        const MissCosts costs = cycle.each();
        miss.add(costs.miss);
        wrap.add(costs.wrap);
    }
    miss.report(ktest_ctx, "kmap_miss");
    wrap.report(ktest_ctx, "kmap_wrap_op");
    ktest_ctx.diag("kmap_miss_amortized: %u ops per pass, a wrap every %u misses", ops, LAST_PKMAP);

    EXPECT_TRUE(cycle.resets_ok());
    EXPECT_EQ(pkmap_stats().hits - before.hits, 0u);   // every op was a miss
}

// ---- every online CPU mapping at once: kmap() vs kmap_local --------------------

namespace {

// Each CPU's own pages, rotating: after the first round every kmap() is a
// hit, so the two differ by the pool's one lock against per-CPU slots.
constexpr unsigned PAGES_PER_CPU = 16;
Page* throughput_storage[x86::NR_CPUS * PAGES_PER_CPU];

// A pass ends early past this much TSC time: under TCG with more vCPUs than
// host cores, the ticket lock's hand-offs wait for host time slices, and
// kmap() can take a millisecond per op (the watchdog allows 60 s per case).
constexpr u32 PASS_BUDGET_MS = 2000;
constexpr u32 BUDGET_CHECK_OPS = 64;

struct Mapper {
    Page** pages;   // PAGES_PER_CPU of them
    u32 done;       // ops of the last pass
};

struct Throughput {
    u32 ops;        // per CPU and pass, unless the budget ends it first
    u64 deadline;   // TSC
    Atomic<u32> ready{0};
    sched::Completion go;
    Mapper mapper[x86::NR_CPUS];
};
Throughput throughput;

template <bool Local>
void mapper_fn(void* arg) {
    auto* m = static_cast<Mapper*>(arg);
    const u32 ops = throughput.ops;
    throughput.ready.fetch_add(1);
    throughput.go.wait();
    const u64 deadline = throughput.deadline;   // written before the release
    u32 i = 0;
    for (; i < ops; ++i) {
        if (i % BUDGET_CHECK_OPS == 0 && x86::rdtsc() > deadline)
            break;
        Page* page = m->pages[i % PAGES_PER_CPU];
        if constexpr (Local) {
            void* va = kmap_local_page(page);
            *static_cast<volatile u8*>(va) = static_cast<u8>(i);
            kunmap_local(va);
        } else {
            kmap_store_kunmap(page, i);
        }
    }
    m->done = i;
}

// The result of the passes of one variant.
struct MapperTally {
    bool all_created = true;
    unsigned cut_short = 0;   // passes the budget ended
};

// One pass: a mapper pinned to each online CPU, all released at once. The
// TSC cycles on CPU 0 (the case's CPU) from the release to the last join,
// per op done over all CPUs.
template <bool Local>
u64 mappers_pass(unsigned ncpu, MapperTally& tally) {
    throughput.go.reinit();
    throughput.ready.store(0);
    sched::Task* task[x86::NR_CPUS] = {};
    unsigned started = 0;
    for (unsigned cpu = 0; cpu < x86::NR_CPUS; ++cpu) {
        throughput.mapper[cpu].done = 0;
        if (!x86::cpu_online(cpu))
            continue;
        sched::KthreadOptions pinned;
        pinned.cpu = static_cast<int>(cpu);
        pinned.allowed = x86::cpu_bit(cpu);
        task[cpu] = sched::kthread_create(mapper_fn<Local>, &throughput.mapper[cpu],
                                          "bench-mapper", pinned);
        started += task[cpu] != nullptr;
    }
    tally.all_created = tally.all_created && started == ncpu;
    while (throughput.ready.load() < started)
        sched::yield();   // lets CPU 0's mapper reach the start line
    const u64 start = x86::rdtsc();
    throughput.deadline = start + PASS_BUDGET_MS * x86::tsc_khz();
    throughput.go.complete_all();
    u64 done = 0;
    for (unsigned cpu = 0; cpu < x86::NR_CPUS; ++cpu) {
        if (task[cpu]) {
            sched::kthread_join(task[cpu]);
            done += throughput.mapper[cpu].done;
        }
    }
    const u64 cycles = x86::rdtsc() - start;
    tally.cut_short += done < static_cast<u64>(throughput.ops) * started;
    return cycles / (done ? done : 1);
}

} // namespace

KTEST(bench, throughput_kmap_vs_kmap_local) {
    const unsigned ncpu = x86::num_online_cpus();
    HighmemPages pages(throughput_storage);
    if (!pages.get(ncpu * PAGES_PER_CPU))
        KTEST_SKIP("needs 16 highmem pages per CPU");
    unsigned next = 0;
    for (unsigned cpu = 0; cpu < x86::NR_CPUS; ++cpu)
        if (x86::cpu_online(cpu))
            throughput.mapper[cpu].pages = pages.from(PAGES_PER_CPU * next++);
    throughput.ops = ktest::bench_ops();
    ASSERT_TRUE(pkmap_test_reset());   // no wrap among the first round's misses

    char name[40];
    MapperTally kmap_tally, local_tally;
    const PkmapStats before = pkmap_stats();
    lib::format(name, sizeof(name), "throughput_kmap_cpus%u", ncpu);
    measure(ktest_ctx, name, [ncpu, &kmap_tally] { return mappers_pass<false>(ncpu, kmap_tally); });
    const PkmapStats after = pkmap_stats();
    lib::format(name, sizeof(name), "throughput_kmap_local_cpus%u", ncpu);
    measure(ktest_ctx, name, [ncpu, &local_tally] { return mappers_pass<true>(ncpu, local_tally); });

    ktest_ctx.diag("throughput: %u CPU(s) x %u ops per pass; kmap: %u misses, %u hits, %u waits; "
                   "passes cut at %u ms: kmap %u, kmap_local %u", ncpu, throughput.ops,
                   after.misses - before.misses, after.hits - before.hits,
                   after.waits - before.waits, PASS_BUDGET_MS, kmap_tally.cut_short,
                   local_tally.cut_short);
    EXPECT_TRUE(kmap_tally.all_created);
    EXPECT_TRUE(local_tally.all_created);
}
