// The kernel TLB shootdown (spec T1, T3, T4, T5) and the stale-read proof
// that it is needed: CPU B keeps reading a kernel mapping that CPU A
// retargets; only the shootdown makes B see the new page.
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/tlb.h"
#include "arch/x86/tlb_testing.h"
#include "mm/buddy.h"
#include "mm/page.h"
#include "mm/pgtable.h"
#include "mm/vmalloc.h"
#include "sched/sched.h"
#include "tests/kernel/stale_read.h"
#include "tests/ktest/ktest.h"

using namespace x86;

KTEST_SUITE(tlb);

namespace {

struct Snapshot {
    TlbCounters c[NR_CPUS];
    static Snapshot now() {
        Snapshot s;
        for (unsigned i = 0; i < NR_CPUS; ++i)
            s.c[i] = tlb_counters(i);
        return s;
    }
};

// A scratch range of kernel addresses to flush.
constexpr u32 SCRATCH = 0xe0000000;

} // namespace

KTEST(tlb, ceiling_33_pages_invlpg_34_full_flush_t1_t5) {
    const Snapshot a = Snapshot::now();
    flush_tlb_kernel_range(SCRATCH, SCRATCH + 33 * 4096);
    const Snapshot b = Snapshot::now();
    flush_tlb_kernel_range(SCRATCH, SCRATCH + 34 * 4096);
    const Snapshot c = Snapshot::now();
    for (unsigned cpu = 0; cpu < num_online_cpus(); ++cpu) {
        // Every CPU, the initiator (0) included.
        EXPECT_EQ(b.c[cpu].invlpg - a.c[cpu].invlpg, 33u);
        EXPECT_EQ(b.c[cpu].full_flushes - a.c[cpu].full_flushes, 0u);
        EXPECT_EQ(c.c[cpu].invlpg - b.c[cpu].invlpg, 0u);
        EXPECT_EQ(c.c[cpu].full_flushes - b.c[cpu].full_flushes, 1u);
        if (cpu != this_cpu_index())
            EXPECT_EQ(c.c[cpu].shootdowns_received - a.c[cpu].shootdowns_received, 2u);
    }
}

KTEST(tlb, flush_with_interrupts_disabled_warns_t3) {
    if (num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    KTEST_EXPECT_WARN("smp.call_with_irqs_disabled", 1);
    const Snapshot a = Snapshot::now();
    const u32 flags = irq_save();
    flush_tlb_kernel_range(SCRATCH, SCRATCH + 4096);
    irq_restore(flags);
    // It still completed everywhere (himem's wait loop services requests).
    const Snapshot b = Snapshot::now();
    for (unsigned cpu = 0; cpu < num_online_cpus(); ++cpu)
        EXPECT_EQ(b.c[cpu].invlpg - a.c[cpu].invlpg, 1u);
}

namespace {
Atomic<u32> remote_done{0};
void remote_flushes(void*) {
    for (int i = 0; i < 50; ++i)
        flush_tlb_kernel_range(SCRATCH, SCRATCH + 2 * 4096);
    remote_done.store(1);
}
} // namespace

KTEST(tlb, two_cpus_flushing_at_once_both_complete_t3) {
    if (num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    remote_done.store(0);
    sched::KthreadOptions on_cpu1;
    on_cpu1.allowed = cpu_bit(1);
    on_cpu1.cpu = 1;
    sched::Task* other = sched::kthread_create(remote_flushes, nullptr, "tlb-flusher", on_cpu1);
    ASSERT_NOT_NULL(other);
    for (int i = 0; i < 50; ++i)
        flush_tlb_kernel_range(SCRATCH, SCRATCH + 3 * 4096);
    sched::kthread_join(other);
    EXPECT_EQ(remote_done.load(), 1u);
}

namespace {

// Returns what CPU B read after CPU A retargeted the mapping.
u32 retarget_while_b_reads(bool skip_shootdown, u32* first) {
    using namespace mm;
    auto* area = static_cast<volatile u32*>(vmalloc(PAGE_SIZE, "tlb stale-read test"));
    Page* other = alloc_page(Gfp::Kernel);
    if (!area || !other)
        return 0;
    *area = 0x0001d1d1;
    *static_cast<volatile u32*>(page_address(other)) = 0x000ee0ee;
    x86::Pte* pte = lookup_kernel_pte(VirtAddr(area));
    const x86::Pte old = x86::read_pte(pte);

    static ktest::StaleRead s;
    s.start(1, area);
    x86::set_pte(pte, x86::Pte::make(page_to_pfn(other), old.flags()));
    tlb_test_skip_shootdown.store(skip_shootdown);
    flush_tlb_kernel_range(reinterpret_cast<u32>(area), reinterpret_cast<u32>(area) + PAGE_SIZE);
    tlb_test_skip_shootdown.store(false);
    const u32 second = s.finish();
    // Put it back everywhere before anyone frees anything.
    x86::set_pte(pte, old);
    flush_tlb_kernel_range(reinterpret_cast<u32>(area), reinterpret_cast<u32>(area) + PAGE_SIZE);
    vfree(const_cast<u32*>(area));
    free_page(other);
    *first = s.first;
    return second;
}

} // namespace

KTEST(tlb, shootdown_makes_cpu_b_see_the_new_page) {
    if (num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    u32 first = 0;
    EXPECT_EQ(retarget_while_b_reads(false, &first), 0x000ee0eeu);
    EXPECT_EQ(first, 0x0001d1d1u);
}

KTEST(tlb, without_the_shootdown_cpu_b_reads_the_old_page) {
    if (num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    // The negative control: it proves the test above can fail.
    u32 first = 0;
    EXPECT_EQ(retarget_while_b_reads(true, &first), 0x0001d1d1u);
    EXPECT_EQ(first, 0x0001d1d1u);
}
