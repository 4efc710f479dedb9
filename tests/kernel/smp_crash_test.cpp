// Crash tests of the SMP platform: spinlock misuse is a BUG, and a panic
// stops every other CPU by NMI, each printing where it was.
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/bug.h"
#include "lib/spinlock.h"
#include "tests/ktest/ktest.h"

namespace {

Spinlock crash_lock;

[[gnu::noinline, maybe_unused]] void take_twice() {
    crash_lock.lock();
    crash_lock.lock();   // this CPU already holds it: would spin forever
}

[[gnu::noinline]] void release_unheld() { crash_lock.unlock(); }

Atomic<u32> spinning{0};

// Other CPUs park here (from the call-function IPI, interrupts off) so the
// panic's NMIs find them somewhere recognizable.
[[gnu::noinline]] void park_for_panic(void*) {
    spinning.fetch_add(1);
    for (;;)
        x86::pause();
}

[[gnu::noinline]] void panic_with_others_parked() {
    const unsigned others = x86::num_online_cpus() - 1;
    x86::smp_call_function(park_for_panic, nullptr, false);
    const u64 deadline = x86::now_ns() + 3000000000ull;
    while (spinning.load() < others && x86::now_ns() < deadline)
        x86::pause();
    panic("deliberate panic with %u other CPUs parked", spinning.load());
}

} // namespace

// Only the debug build tracks the owner (lib/spinlock.h); the release
// build's CPU would spin on itself. The matrix boots it in crash-debug.
#if HIMEM_DEBUG
KTEST_CRASH(spinlock_recursion, .site = "spinlock.recursion", .frames = "take_twice") {
    take_twice();
}
#endif

KTEST_CRASH(spinlock_unlock_by_non_owner, .site = "spinlock.bad_unlock", .frames = "release_unheld",
            .report = "nobody holds it") {
    release_unheld();
}

// Run on 4 CPUs by its own matrix entry: every other CPU must print its trace
// from the NMI, naming where it was parked.
KTEST_CRASH(panic_stops_other_cpus_by_nmi, .site = "panic",
            .frames = "panic_with_others_parked,park_for_panic", .manual = true,
            .report = "NMI: CPU 1 stopped for the panic|NMI: CPU 2 stopped for the panic|"
                      "NMI: CPU 3 stopped for the panic") {
    panic_with_others_parked();
}
