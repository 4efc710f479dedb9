// Crash tests: each must end the machine at the named site with the named
// functions in its call trace (tools/himem boots once per test).
#include "lib/bug.h"
#include "tests/ktest/ktest.h"

namespace {

// Large frames make the overflow quick; the volatile array keeps them real.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
[[gnu::noinline]] unsigned recurse_until_overflow(unsigned depth) {
    volatile char frame[256];
    frame[0] = static_cast<char>(depth);
    return recurse_until_overflow(depth + 1) + frame[0];
}
#pragma GCC diagnostic pop

[[gnu::noinline]] void crash_inner(int v) { BUG_ON(v == 42); }

[[gnu::noinline]] void crash_outer(int v) {
    crash_inner(v + 1);
    asm volatile("" ::: "memory");   // not a tail call: keep this frame
}

// 1 GiB: below the kernel half and outside the boot identity map (which
// still covers page 0 until the paging issue removes it).
u32 volatile unmapped_address = 0x40000000;   // volatile: hidden from -Warray-bounds

[[gnu::noinline]] void fault_on_unmapped_write() {
    *reinterpret_cast<volatile u32*>(unmapped_address) = 1;
}

} // namespace

// The boot stack's guard page turns the overflow into #PF, and the #PF into
// #DF; the double-fault task must name it, not triple-fault.
KTEST_CRASH(stack_overflow, .site = "x86.stack_overflow", .frames = "recurse_until_overflow") {
    recurse_until_overflow(0);
}

// The report must name both functions of the chain, innermost first.
KTEST_CRASH(bug_names_call_chain, .site = "crash_inner", .frames = "crash_inner,crash_outer") {
    crash_outer(41);
}

KTEST_CRASH(unmapped_write_page_fault, .site = "x86.exception.PF",
            .frames = "fault_on_unmapped_write") {
    fault_on_unmapped_write();
}

KTEST_CRASH(explicit_panic, .site = "panic", .frames = "ktest_crash_fn_explicit_panic") {
    panic("deliberate panic from a crash test (%d)", 7);
}

// Harness self-test: a crash test whose crash has been removed. The runner
// must judge it failed; only an explicit matrix entry runs it.
KTEST_CRASH(harness_crash_removed, .site = "crash_inner", .frames = "crash_inner", .manual = true) {
    crash_outer(0);   // 0 + 1 != 42: no BUG
}
