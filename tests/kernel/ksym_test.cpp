// The embedded symbol table, as backtraces use it.
#include "arch/x86/backtrace.h"
#include "lib/ksym.h"
#include "lib/string.h"
#include "tests/ktest/ktest.h"

KTEST_SUITE(ksym);

extern "C" [[noreturn]] void boot_start(u32 magic, u32 info_phys);

namespace {

[[gnu::noinline]] int ksym_probe_function(int x) {
    asm volatile("" : "+r"(x));   // keep a body GCC cannot fold away
    return x * 3 + 1;
}

[[gnu::noinline]] unsigned collect_here(u32* frames, unsigned max) {
    return x86::collect_backtrace(reinterpret_cast<u32>(__builtin_frame_address(0)), frames, max);
}

[[gnu::noinline]] unsigned ksym_probe_caller(u32* frames, unsigned max) {
    const unsigned n = collect_here(frames, max);
    asm volatile("" ::: "memory");   // not a tail call: keep this frame
    return n;
}

} // namespace

KTEST(ksym, resolves_a_known_function_and_offset) {
    const auto addr = reinterpret_cast<u32>(&ksym_probe_function);
    EXPECT_EQ(ksym_probe_function(1), 4);
    u32 offset = 99, size = 0;
    const char* name = ksym::lookup(addr + 3, &offset, &size);
    ASSERT_NOT_NULL(name);
    EXPECT_NOT_NULL(lib::strstr(name, "ksym_probe_function"));
    EXPECT_EQ(offset, 3u);
    EXPECT_GT(size, 3u);
    EXPECT_EQ(ksym::lookup(addr, &offset, nullptr), name);
    EXPECT_EQ(offset, 0u);
}

KTEST(ksym, finds_symbols_by_name) {
    EXPECT_EQ(ksym::address_of("boot_start"), reinterpret_cast<u32>(&boot_start));
}

KTEST(ksym, backtrace_frames_resolve_in_call_order) {
    u32 frames[8];
    const unsigned n = ksym_probe_caller(frames, 8);
    ASSERT_GE(n, 2u);
    // frames[0] returns into ksym_probe_caller, frames[1] into this test.
    const char* first = ksym::lookup(frames[0] - 1, nullptr, nullptr);
    const char* second = ksym::lookup(frames[1] - 1, nullptr, nullptr);
    ASSERT_NOT_NULL(first);
    ASSERT_NOT_NULL(second);
    EXPECT_NOT_NULL(lib::strstr(first, "ksym_probe_caller"));
    EXPECT_NOT_NULL(lib::strstr(second, "backtrace_frames_resolve_in_call_order"));
}
