// Crash tests: each must end the machine at the named site with the named
// functions in its call trace (tools/himem boots once per test).
#include "lib/bug.h"
#include "mm/vmalloc.h"
#include "sched/sched.h"
#include "tests/ktest/ktest.h"

namespace {

// Large frames make the overflow quick; the volatile array keeps them real.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
[[gnu::noipa]] unsigned recurse_until_overflow(unsigned depth) {
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

[[gnu::noinline]] void touch_past_vmalloc_area(volatile u8* area, u32 size) {
    area[size] = 1;   // the first byte of the guard page
}

// A write one byte past a vmalloc area lands in its guard page; the report
// must name that region, its owner and the error code (write, not present).
KTEST_CRASH(vmalloc_guard_page_fault, .site = "x86.exception.PF",
            .frames = "touch_past_vmalloc_area",
            .report = "guard page after vmalloc area|of crash-test area [vmalloc-guard]|"
                      "error code 0x0002: not-present page, write") {
    auto* area = static_cast<volatile u8*>(mm::vmalloc(3 * 4096, "crash-test area"));
    BUG_ON(!area);
    touch_past_vmalloc_area(area, 3 * 4096);
}

// Harness self-test: a crash test whose crash has been removed. The runner
// must judge it failed; only an explicit matrix entry runs it.
KTEST_CRASH(harness_crash_removed, .site = "crash_inner", .frames = "crash_inner", .manual = true) {
    crash_outer(0);   // 0 + 1 != 42: no BUG
}

namespace {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
// noipa: identical-code folding would merge it with recurse_until_overflow.
[[gnu::noipa]] unsigned recurse_in_thread(unsigned depth) {
    volatile char frame[256];
    frame[0] = static_cast<char>(depth);
    return recurse_in_thread(depth + 1) + frame[0];
}
#pragma GCC diagnostic pop
void overflowing_thread(void*) { recurse_in_thread(0); }
} // namespace

// A kernel thread's vmalloc'd stack overflows into its guard page: the report
// must name the stack overflow and the task.
KTEST_CRASH(thread_stack_overflow, .site = "x86.stack_overflow", .frames = "recurse_in_thread",
            .report = "kernel stack overflow of stack of task crash-recurser|Task: crash-recurser") {
    sched::Task* t = sched::kthread_create(overflowing_thread, nullptr, "crash-recurser");
    BUG_ON(!t);
    sched::kthread_join(t);
}
