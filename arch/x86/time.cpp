#include "arch/x86/time.h"

#include "arch/x86/cpu.h"
#include "arch/x86/pit.h"
#include "lib/printk.h"

namespace x86 {
namespace {
u64 khz = 1000000;   // a guess until calibrated: 1 GHz
u64 boot_tsc = 0;
} // namespace

void tsc_calibrate() {
    // The best of three 10 ms windows: a preempted vCPU only makes a window longer.
    u64 best = ~0ull;
    for (int i = 0; i < 3; ++i) {
        const u64 start = rdtsc();
        pit_wait_ms(10);
        const u64 delta = rdtsc() - start;
        if (delta < best)
            best = delta;
    }
    khz = best / 10;
    if (khz == 0)
        khz = 1;
    boot_tsc = rdtsc();
    printk("time: TSC %llu.%03llu MHz (calibrated against the PIT)\n",
           static_cast<unsigned long long>(khz / 1000), static_cast<unsigned long long>(khz % 1000));
}

u64 tsc_khz() { return khz; }

u64 now_ns() { return (rdtsc() - boot_tsc) * 1000000 / khz; }

void udelay(u32 us) {
    const u64 end = rdtsc() + u64{us} * khz / 1000;
    while (rdtsc() < end)
        pause();
}

} // namespace x86
