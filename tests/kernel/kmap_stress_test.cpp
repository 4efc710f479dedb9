// kmap_local under load (tests/kernel/stress/kmap_local_stress.h): several
// threads per CPU each build stacks of random depth (1..13) over distinct
// highmem pages holding a task-specific pattern, are preempted at random
// points and verify every mapped byte after every switch, while the timer
// interrupt maps and checks pages of its own on top of whatever task it
// interrupts. Fixed seeds; it runs until every CPU has reached its floors
// (preemptions while holding mappings, interrupt-context maps, verified
// bytes), capped in time; missing a floor by the cap fails.
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "mm/buddy.h"
#include "mm/zone.h"
#include "sched/sched.h"
#include "tests/kernel/stress/kmap_local_stress.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using stress::KmapLocalStress;

KTEST_SUITE(kmap_stress);

namespace {

constexpr u32 MAX_SPIN_NS = 2000000;
constexpr u32 FLOOR_PREEMPTIONS = 10;     // per CPU: preempted while holding mappings
constexpr u32 FLOOR_IRQ_MAPS = 200;       // per CPU
constexpr u32 FLOOR_VERIFIED = 2 * 1024 * 1024;  // bytes per CPU
constexpr u64 CAP_NS = 60000000000ull;

bool floors_reached(const KmapLocalStress& s) {
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c) {
        const KmapLocalStress::PerCpu& p = s.cpu(c);
        if (p.preemptions_holding.load() < FLOOR_PREEMPTIONS || p.irq_maps.load() < FLOOR_IRQ_MAPS ||
            p.verified_bytes.load() < FLOOR_VERIFIED * ktest::stress_scale())
            return false;
    }
    return true;
}

} // namespace

KTEST(kmap_stress, random_stacks_preemption_and_interrupt_maps_on_every_cpu) {
    static KmapLocalStress s;
    const unsigned ncpus = x86::num_online_cpus();
    if (zone_free_pages(ZONE_HIGHMEM) < KmapLocalStress::pages_needed(ncpus) + 64)
        KTEST_SKIP("needs enough free highmem pages");
    ASSERT_TRUE(s.start(ncpus, MAX_SPIN_NS));
    const u64 cap = x86::now_ns() + CAP_NS;
    while (!floors_reached(s) && x86::now_ns() < cap) {
        sched::sleep_ticks(10);
        s.ipi_round();   // and from IPIs
    }
    s.stop();

    u32 mismatches = 0;
    for (unsigned c = 0; c < ncpus; ++c) {
        const KmapLocalStress::PerCpu& p = s.cpu(c);
        ktest_ctx.diag("CPU %u: %u preemptions holding mappings, %u timer maps, %u IPI maps, "
                       "%u KiB verified, %u mismatches", c, p.preemptions_holding.load(),
                       p.irq_maps.load(), p.ipi_maps.load(), p.verified_bytes.load() >> 10,
                       p.mismatches.load());
        mismatches += p.mismatches.load();
        EXPECT_GE(p.preemptions_holding.load(), FLOOR_PREEMPTIONS);
        EXPECT_GE(p.irq_maps.load(), FLOOR_IRQ_MAPS);
        if (c != x86::this_cpu_index() && ncpus > 1)
            EXPECT_GT(p.ipi_maps.load(), 0u);
        EXPECT_GE(p.verified_bytes.load(), FLOOR_VERIFIED * ktest::stress_scale());
    }
    EXPECT_EQ(mismatches, 0u);
}
