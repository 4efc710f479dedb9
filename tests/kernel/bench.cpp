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
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "sched/sched.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(bench, .manual = true);

namespace {

constexpr unsigned MAX_PASSES = 15;

void sort_ascending(u32* v, unsigned n) {
    for (unsigned i = 1; i < n; ++i) {
        const u32 x = v[i];
        unsigned k = i;
        for (; k > 0 && v[k - 1] > x; --k)
            v[k] = v[k - 1];
        v[k] = x;
    }
}

// One figure's value from each pass, and the line that reports their median.
class Passes {
public:
    bool full() const { return m_count == m_wanted; }
    void add(u64 per_op) { m_value[m_count++] = static_cast<u32>(per_op); }

    void report(ktest::Context& ktest_ctx, const char* name) const {
        u32 sorted[MAX_PASSES];
        for (unsigned p = 0; p < m_count; ++p)
            sorted[p] = m_value[p];
        sort_ascending(sorted, m_count);
        char list[128];
        size_t n = 0;
        for (unsigned p = 0; p < m_count && n < sizeof(list); ++p)
            n += lib::format(list + n, sizeof(list) - n, "%s%u", p ? " " : "", m_value[p]);
        ktest_ctx.diag("bench: %s: %u tsc/op (passes: %s)", name, sorted[m_count / 2], list);
    }

private:
    unsigned m_wanted = min(ktest::bench_passes(), MAX_PASSES);
    unsigned m_count = 0;
    u32 m_value[MAX_PASSES];
};

// A sampler runs one pass and returns the TSC cycles per operation.
template <typename Sampler>
void measure(ktest::Context& ktest_ctx, const char* name, Sampler&& sample) {
    Passes passes;
    sample();   // warm-up pass
    while (!passes.full())
        passes.add(sample());
    passes.report(ktest_ctx, name);
}

// A sampler for `ops` repetitions of `body`'s loop.
template <typename Body>
auto timed(u32 ops, Body body) {
    return [ops, body] {
        const u64 start = x86::rdtsc();
        body();
        return (x86::rdtsc() - start) / ops;
    };
}

Page* highmem_or_skip() {
    Page* p = alloc_page(Gfp::HighUser);
    if (p && !is_highmem(p)) {
        free_page(p);
        return nullptr;
    }
    return p;
}

} // namespace

KTEST(bench, kmap_local_pairs) {
    Page* high = highmem_or_skip();
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
        p = highmem_or_skip();
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
    Page* high = highmem_or_skip();
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
            p = highmem_or_skip();
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
