// Harness self-tests: cases that must be judged failed (or killed) by the
// host runner. The suite is manual, so it runs only when a matrix entry names
// it: ktest.filter=harness_selftest.<case>.
#include "arch/x86/cpu.h"
#include "lib/bug.h"
#include "mm/buddy.h"
#include "mm/pkmap.h"
#include "sched/sched.h"
#include "tests/ktest/ktest.h"

KTEST_SUITE(harness_selftest, .manual = true);

KTEST(harness_selftest, deliberate_failure) {
    EXPECT_EQ(1 + 1, 3);
}

namespace {
[[gnu::noinline]] void undeclared_warn() { WARN_ON(true); }
}

KTEST(harness_selftest, unexpected_warn) {
    undeclared_warn();
}

KTEST(harness_selftest, missing_warn) {
    KTEST_EXPECT_WARN("harness_selftest.never_fires", 1);
}

// Prints nothing and never returns: the host's silence limit must kill it.
KTEST(harness_selftest, hang) {
    x86::cli();
    for (;;)
        x86::pause();
}

// Returns with preemption disabled: the leak check must fail it.
KTEST(harness_selftest, leaks_preempt_count) {
    sched::preempt_disable();
}

// Returns holding a kmap() slot: the runner's leak check must fail it.
KTEST(harness_selftest, leaks_a_kmap_slot) {
    mm::Page* page = mm::alloc_page(mm::Gfp::HighUser);
    if (!page || !mm::is_highmem(page))
        KTEST_SKIP("needs a highmem page");
    mm::kmap(page);   // no kunmap (and the page stays allocated: it is in a slot)
}

// Sleeps forever: the in-kernel watchdog must end it (ktest.timeout).
KTEST(harness_selftest, sleeps_forever) {
    sched::Completion never;
    never.wait();
}
