// Protection keys, measured (issue 17): a change of rights thread-locally
// and globally, and what a key adds to a map/unmap pair. Numbers, never
// asserted; the line format is bench.cpp's. Each figure's name ends in the
// number of online CPUs: the case runs on CPU 0 while the others idle, and
// the only thing they take part in is a global revocation's cross-CPU call
// (tools/himem bench boots this with 1, 2, 4 and 8 CPUs).
#include "arch/x86/cpu.h"
#include "arch/x86/pkrs.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/tlb.h"
#include "mm/kmap_local.h"
#include "mm/pkmap.h"
#include "mm/pks.h"
#include "tests/kernel/bench.h"
#include "tests/kernel/helpers.h"
#include "tests/kernel/pks_helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using bench::measure;
using bench::Passes;
using bench::timed;
using test_support::KeyedPages;

namespace {

// Keys are never given back: one for every run of these cases in a boot.
unsigned bench_key = 0;

unsigned key() {
    if (!bench_key)
        bench_key = pks_key_alloc("bench", nullptr);
    return bench_key;
}

#define NEED_BENCH_KEY()                                                          \
    if (!key())                                                                   \
        KTEST_SKIP("no protection key left")

char name_buf[48];
const char* name(const char* what) {
    lib::format(name_buf, sizeof(name_buf), "%s_cpus%u", what, x86::num_online_cpus());
    return name_buf;
}

// Register writes and full flushes over every CPU: what a pair does, counted
// outside the timed passes.
struct Work {
    u32 writes = 0;
    u32 full_flushes = 0;

    static Work now() {
        Work w;
        for (unsigned cpu = 0; cpu < x86::NR_CPUS; ++cpu) {
            if (!x86::cpu_online(cpu))
                continue;
            w.writes += x86::pkrs_writes(cpu);
            w.full_flushes += x86::tlb_counters(cpu).full_flushes;
        }
        return w;
    }
};

constexpr u32 COUNTED_PAIRS = 16;

// Per pair, over COUNTED_PAIRS of `pair`, as "W register writes, F full flushes".
template <typename Pair>
void count_work(char* out, size_t size, Pair pair) {
    const Work before = Work::now();
    for (u32 i = 0; i < COUNTED_PAIRS; ++i)
        pair(i);
    const Work after = Work::now();
    const u32 w = after.writes - before.writes, f = after.full_flushes - before.full_flushes;
    lib::format(out, size, "%u.%02u register writes, %u.%02u full flushes", w / COUNTED_PAIRS,
                w % COUNTED_PAIRS * 100 / COUNTED_PAIRS, f / COUNTED_PAIRS,
                f % COUNTED_PAIRS * 100 / COUNTED_PAIRS);
}

inline void store(void* va, u32 i) { *static_cast<volatile u8*>(va) = static_cast<u8>(i); }

} // namespace

// The cheap kind: the running task's own rights. Both pairs change them
// twice (two register writes, the live kmap_local slots checked each time;
// none is held here).
KTEST(bench, pks_thread_local) {
    NEED_BENCH_KEY();
    NEED_KEYED_PAGES(pages, key(), 0);
    Page* page = pages[0];
    const unsigned k = key();
    const u32 n = ktest::bench_ops();

    measure(ktest_ctx, name("pks_thread_pair"), timed(n, [k, n] {
        for (u32 i = 0; i < n; ++i) {
            pks_mk_readwrite(k);
            pks_mk_noaccess(k);
        }
    }));
    measure(ktest_ctx, name("pks_dev_page_pair"), timed(n, [page, n] {
        for (u32 i = 0; i < n; ++i) {
            dev_page_enable_access(page, /*global=*/false);
            dev_page_disable_access(page, /*global=*/false);
        }
    }));

    char raw[64], dev[64];
    count_work(raw, sizeof(raw), [k](u32) {
        pks_mk_readwrite(k);
        pks_mk_noaccess(k);
    });
    count_work(dev, sizeof(dev), [page](u32) {
        dev_page_enable_access(page, false);
        dev_page_disable_access(page, false);
    });
    ktest_ctx.diag("pks: %u CPU(s), per pair: pks_mk_* %s; dev_page_* %s",
                   x86::num_online_cpus(), raw, dev);
    EXPECT_TRUE(x86::pkrs_rights(pks_context_rights(), k) == PkeyRights::NoAccess);
}

// ---- global grants and revocations ------------------------------------------------

namespace {

// A global pair costs about a hundred times the instructions of a
// thread-local one (every kmap() pool entry is examined twice), and far more
// wall time with more CPUs (the revocation calls each): bench_ops / 100
// pairs per pass, and a budget per pass, as the throughput case has, for a
// busy host whose vCPUs wait for time slices.
constexpr u32 GLOBAL_OPS_DIVISOR = 100;
constexpr u32 MAX_GLOBAL_OPS = 4096;
constexpr u32 PASS_BUDGET_MS = 2000;
constexpr u32 BUDGET_CHECK_OPS = 16;

u32 global_ops() {
    return min(max(ktest::bench_ops() / GLOBAL_OPS_DIVISOR, 1u), MAX_GLOBAL_OPS);
}

// A sampler for up to `ops` calls of `op(i)`, cut at the budget: cycles per
// call done. `cut` counts the passes the budget ended.
template <typename Op>
auto budgeted(u32 ops, unsigned& cut, Op op) {
    return [ops, &cut, op] {
        const u64 start = x86::rdtsc();
        const u64 deadline = start + static_cast<u64>(PASS_BUDGET_MS) * x86::tsc_khz();
        u32 i = 0;
        for (; i < ops; ++i) {
            if (i % BUDGET_CHECK_OPS == 0 && i != 0 && x86::rdtsc() > deadline)
                break;
            op(i);
        }
        const u64 cycles = x86::rdtsc() - start;
        cut += i < ops;
        return cycles / i;
    };
}

u32 grant_cost[MAX_GLOBAL_OPS];
u32 revoke_cost[MAX_GLOBAL_OPS];

// One pass with each half of each pair timed alone: the median of each.
struct Halves {
    u32 grant, revoke;
};
Halves timed_halves(Page* page, u32 ops, unsigned& cut) {
    const u64 deadline = x86::rdtsc() + static_cast<u64>(PASS_BUDGET_MS) * x86::tsc_khz();
    u32 i = 0;
    for (; i < ops; ++i) {
        const u64 t0 = x86::rdtsc();
        if (i != 0 && t0 > deadline)
            break;
        dev_page_enable_access(page, /*global=*/true);
        const u64 t1 = x86::rdtsc();
        dev_page_disable_access(page, /*global=*/true);
        const u64 t2 = x86::rdtsc();
        grant_cost[i] = static_cast<u32>(t1 - t0);
        revoke_cost[i] = static_cast<u32>(t2 - t1);
    }
    cut += i < ops;
    bench::sort_ascending(grant_cost, i);
    bench::sort_ascending(revoke_cost, i);
    return {grant_cost[i / 2], revoke_cost[i / 2]};
}

} // namespace

// The expensive kind: a grant to everyone (lazy: no cross-CPU call) and its
// revocation (eager: every online CPU flushes and reloads before it returns).
// Also kmap() + store + kunmap of a keyed page, which is a pool hit plus one
// such pair, beside the same of an unkeyed page.
KTEST(bench, pks_global) {
    NEED_BENCH_KEY();
    NEED_KEYED_PAGES(pages, key(), 0);
    Page* keyed = pages[0];
    Page* storage[1];
    test_support::HighmemPages plain(storage);
    if (!plain.get(1))
        KTEST_SKIP("needs a highmem page");
    Page* unkeyed = plain[0];
    const u32 ops = global_ops();
    unsigned cut_pair = 0, cut_halves = 0, cut_kmap = 0;

    measure(ktest_ctx, name("pks_global_pair"), budgeted(ops, cut_pair, [keyed](u32) {
        dev_page_enable_access(keyed, /*global=*/true);
        dev_page_disable_access(keyed, /*global=*/true);
    }));

    Passes grant, revoke;
    timed_halves(keyed, ops, cut_halves);   // warm-up pass
    while (!grant.full()) {
        const Halves h = timed_halves(keyed, ops, cut_halves);
        grant.add(h.grant);
        revoke.add(h.revoke);
    }
    grant.report(ktest_ctx, name("pks_global_grant"));
    revoke.report(ktest_ctx, name("pks_global_revoke"));

    // Both pages in a pool slot from here on: every kmap() below is a hit.
    store(kmap(keyed), 0);
    kunmap(keyed);
    store(kmap(unkeyed), 0);
    kunmap(unkeyed);
    const u32 n = ktest::bench_ops();
    measure(ktest_ctx, name("pks_kmap_unkeyed"), timed(n, [unkeyed, n] {
        for (u32 i = 0; i < n; ++i) {
            store(kmap(unkeyed), i);
            kunmap(unkeyed);
        }
    }));
    measure(ktest_ctx, name("pks_kmap_keyed"), budgeted(ops, cut_kmap, [keyed](u32 i) {
        store(kmap(keyed), i);
        kunmap(keyed);
    }));

    char work[64];
    const PksStats before = pks_stats();
    count_work(work, sizeof(work), [keyed](u32) {
        dev_page_enable_access(keyed, true);
        dev_page_disable_access(keyed, true);
    });
    const PksStats after = pks_stats();
    const unsigned passes = min(ktest::bench_passes(), bench::MAX_PASSES) + 1;
    ktest_ctx.diag("pks: %u CPU(s), per global pair: %s over all CPUs; %u pairs per pass; "
                   "passes cut at %u ms: pair %u, halves %u, kmap %u of %u",
                   x86::num_online_cpus(), work, ops, PASS_BUDGET_MS, cut_pair, cut_halves,
                   cut_kmap, passes);
    // It measured what it says: each pair granted and revoked.
    EXPECT_EQ(after.global_grants - before.global_grants, COUNTED_PAIRS);
    EXPECT_EQ(after.global_revokes - before.global_revokes, COUNTED_PAIRS);
}

// ---- kmap_local: a keyed page against an unkeyed one -------------------------------

// The same loop as bench.kmap_local_pairs. A keyed page's map also enables
// its key for this task once the slot is written, and its unmap disables it
// first: a thread-local pair, each half of which also rewrites the slot.
KTEST(bench, pks_kmap_local) {
    NEED_BENCH_KEY();
    NEED_KEYED_PAGES(pages, key(), 0);
    Page* keyed = pages[0];
    Page* storage[1];
    test_support::HighmemPages plain(storage);
    if (!plain.get(1))
        KTEST_SKIP("needs a highmem page");
    const u32 n = ktest::bench_ops();
    auto pairs = [n](Page* page) {
        return [n, page] {
            for (u32 i = 0; i < n; ++i) {
                void* va = kmap_local_page(page);
                store(va, i);
                kunmap_local(va);
            }
        };
    };
    measure(ktest_ctx, name("pks_kmap_local_unkeyed"), timed(n, pairs(plain[0])));
    measure(ktest_ctx, name("pks_kmap_local_keyed"), timed(n, pairs(keyed)));

    char work[64];
    count_work(work, sizeof(work), [keyed](u32 i) {
        void* va = kmap_local_page(keyed);
        store(va, i);
        kunmap_local(va);
    });
    ktest_ctx.diag("pks: %u CPU(s), per keyed kmap_local pair: %s", x86::num_online_cpus(), work);
}
