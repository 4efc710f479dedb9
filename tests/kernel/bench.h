// What the benchmark files (bench.cpp, bench_pks.cpp) share: the manual
// `bench` suite, and the passes, their median and the line that reports it
// (bench.cpp's header says what the line means; tools/himemlib/bench.py
// parses it).
#pragma once

#include "arch/x86/time.h"
#include "lib/format.h"
#include "lib/types.h"
#include "tests/ktest/ktest.h"

extern const ::ktest::Suite ktest_suite_bench;   // defined in bench.cpp

namespace bench {

constexpr unsigned MAX_PASSES = 15;
// A figure's budget of kernel time (the TSC: under icount, instructions):
// past it, no further pass starts and the figure is the median of the
// passes done, with a note. A benchmark never fails for being slow.
constexpr u64 FIGURE_BUDGET_NS = 30'000'000'000ull;

inline void sort_ascending(u32* v, unsigned n) {
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
    void cut() { m_cut = true; }

    void report(ktest::Context& ktest_ctx, const char* name) const {
        u32 sorted[MAX_PASSES] = {};   // zeroed: GCC cannot see that m_count is at least 1
        for (unsigned p = 0; p < m_count; ++p)
            sorted[p] = m_value[p];
        sort_ascending(sorted, m_count);
        char list[128];
        size_t n = 0;
        for (unsigned p = 0; p < m_count && n < sizeof(list); ++p)
            n += lib::format(list + n, sizeof(list) - n, "%s%u", p ? " " : "", m_value[p]);
        ktest_ctx.diag("bench: %s: %u tsc/op (passes: %s)%s", name, sorted[m_count / 2], list,
                       m_cut ? "; cut by the budget" : "");
    }

private:
    bool m_cut = false;
    unsigned m_wanted = min(ktest::bench_passes(), MAX_PASSES);
    unsigned m_count = 0;
    u32 m_value[MAX_PASSES];
};

// A sampler runs one pass and returns the TSC cycles per operation.
// Each pass also tells the watchdog the case is alive, so a slow host only
// makes a figure take longer, up to its budget.
template <typename Sampler>
void measure(ktest::Context& ktest_ctx, const char* name, Sampler&& sample) {
    Passes passes;
    const u64 deadline = x86::now_ns() + FIGURE_BUDGET_NS;
    sample();   // warm-up pass
    ktest::keep_alive();
    while (!passes.full()) {
        passes.add(sample());
        ktest::keep_alive();
        if (!passes.full() && x86::now_ns() > deadline) {
            passes.cut();
            break;
        }
    }
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

} // namespace bench
