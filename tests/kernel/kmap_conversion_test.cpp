// The faultable region, and seeds/000 as tests: what a kmap_atomic section
// depended on, and how a kmap_local conversion makes each dependency
// explicit (docs/highmem.md, "Converting").
#include "arch/x86/nofault.h"
#include "lib/inject_testing.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/faultable.h"
#include "mm/faultable_testing.h"
#include "mm/kmap_audit.h"
#include "mm/kmap_local.h"
#include "mm/local_mapping.h"
#include "mm/page_copy.h"
#include "sched/sched.h"
#include "tests/kernel/helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(kmap_conversion);

namespace {

using test_support::Region;

// A page (highmem when possible) holding a recognizable pattern.
Page* source_page(u32 seed) {
    Page* p = test_support::alloc_highuser_page();
    if (!p)
        return nullptr;
    LocalMapping m(p);
    for (u32 i = 0; i < PAGE_SIZE / 4; ++i)
        m.as<u32>()[i] = seed ^ (i * 2654435761u);
    return p;
}

bool region_holds(const Region& reg, u32 offset, u32 seed) {
    u32 v;
    for (u32 i = 0; i < PAGE_SIZE / 4; ++i) {
        if (!x86::nofault_read32(reg.at(offset + 4 * i), &v) || v != (seed ^ (i * 2654435761u)))
            return false;
    }
    return true;
}

} // namespace

KTEST(kmap_conversion, region_pages_fault_in_on_first_touch) {
    Region reg(4, "first-touch");
    ASSERT_NOT_NULL(reg.r);
    EXPECT_FALSE(region_page_present(*reg.r, reg.r->base));
    const char text[] = "faulted in";
    EXPECT_EQ(copy_to_region(reg.at(PAGE_SIZE - 4), text, sizeof(text)), 0u);   // spans two pages
    EXPECT_EQ(reg.r->faults.load(), 2u);
    char back[sizeof(text)] = {};
    EXPECT_EQ(copy_from_region(back, reg.at(PAGE_SIZE - 4), sizeof(text)), 0u);
    EXPECT_STREQ(back, text);
    EXPECT_FALSE(region_page_present(*reg.r, reg.r->base + 2 * PAGE_SIZE));
}

KTEST(kmap_conversion, inatomic_copy_fails_fast_instead_of_faulting_in) {
    Region reg(1, "inatomic");
    ASSERT_NOT_NULL(reg.r);
    u8 buf[64] = {1, 2, 3};
    EXPECT_EQ(copy_to_region_inatomic(reg.at(0), buf, sizeof(buf)), sizeof(buf));
    EXPECT_EQ(reg.r->faults.load(), 0u);
    EXPECT_FALSE(region_page_present(*reg.r, reg.r->base));
    EXPECT_TRUE(fault_in_region(reg.at(0), sizeof(buf)));
    EXPECT_EQ(copy_to_region_inatomic(reg.at(0), buf, sizeof(buf)), 0u);
}

namespace {
void sleep_in_fault(const InjectPoint& point) {
    if (&point == &region_fault_may_sleep)
        sched::sleep_ticks(1);
}

struct Faulter {
    Region* reg;
    u32 seed;
    u32 remaining = 1;
};
void fault_while_another_sleeps(void* arg) {
    auto* f = static_cast<Faulter*>(arg);
    Page* src = source_page(f->seed);
    if (!src)
        return;
    LocalMapping m(src);
    f->remaining = copy_to_region(f->reg->at(0), m.get(), PAGE_SIZE);
    free_page(src);
}
} // namespace

KTEST(kmap_conversion, fault_handler_keeps_cr2_across_its_sleep) {
    // Two tasks on one CPU fault on different regions; each handler sleeps,
    // so the other's fault overwrites CR2 in between.
    Region a(1, "sleepy-a"), b(1, "sleepy-b");
    ASSERT_NOT_NULL(a.r);
    ASSERT_NOT_NULL(b.r);
    InjectHookGuard sleepy(sleep_in_fault);
    static Faulter fa, fb;
    fa = {&a, 0xaaaa0000};
    fb = {&b, 0xbbbb0000};
    sched::KthreadOptions cpu0;
    cpu0.allowed = x86::cpu_bit(0);
    cpu0.cpu = 0;
    sched::Task* ta = sched::kthread_create(fault_while_another_sleeps, &fa, "faulter-a", cpu0);
    sched::Task* tb = sched::kthread_create(fault_while_another_sleeps, &fb, "faulter-b", cpu0);
    ASSERT_NOT_NULL(ta);
    ASSERT_NOT_NULL(tb);
    sched::kthread_join(ta);
    sched::kthread_join(tb);
    EXPECT_EQ(fa.remaining, 0u);
    EXPECT_EQ(fb.remaining, 0u);
    EXPECT_TRUE(region_holds(a, 0, 0xaaaa0000));
    EXPECT_TRUE(region_holds(b, 0, 0xbbbb0000));
}

// seeds/000, old code: inside kmap_atomic only the in-atomic copy is possible;
// it fails on a not-yet-present page, so the caller unmaps, faults the page in
// and tries again (spec A2, the fault half).
KTEST(kmap_conversion, seed000_kmap_atomic_copy_fails_then_retries) {
    Region reg(1, "atomic-copy");
    Page* src = source_page(0x1234);
    ASSERT_NOT_NULL(reg.r);
    ASSERT_NOT_NULL(src);
    unsigned attempts = 0;
    for (;;) {
        ++attempts;
        void* va = kmap_atomic(src);
        const u32 remaining = copy_to_region_inatomic(reg.at(0), va, PAGE_SIZE);
        kunmap_atomic(va);
        if (remaining == 0)
            break;
        ASSERT_LE(attempts, 2u);
        ASSERT_TRUE(fault_in_region(reg.at(0), PAGE_SIZE));
    }
    EXPECT_EQ(attempts, 2u);
    EXPECT_TRUE(region_holds(reg, 0, 0x1234));
    free_page(src);
}

// seeds/000, converted: kmap_local has no implicit pagefault_disable, so the
// plain copy faults the page in (and may sleep) and succeeds in one pass.
KTEST(kmap_conversion, seed000_kmap_local_plain_copy_succeeds_in_one_pass) {
    Region reg(1, "local-copy");
    Page* src = source_page(0x5678);
    ASSERT_NOT_NULL(reg.r);
    ASSERT_NOT_NULL(src);
    void* va = kmap_local_page(src);
    EXPECT_EQ(copy_to_region(reg.at(0), va, PAGE_SIZE), 0u);
    kunmap_local(va);
    EXPECT_EQ(reg.r->faults.load(), 1u);
    EXPECT_TRUE(region_holds(reg, 0, 0x5678));
    free_page(src);
}

// Why the old code could not just call the plain copy: kmap_atomic's section
// is atomic, so the plain copy trips might_sleep and its fault is not resolved.
KTEST(kmap_conversion, plain_copy_inside_kmap_atomic_is_a_bug) {
    if (kmap_audit_enabled())
        KTEST_SKIP("kmap.audit: kmap_atomic has no side effects, so no bug to show");
    KTEST_EXPECT_WARN("sched.might_sleep", 1);
    Region reg(1, "atomic-plain");
    Page* src = source_page(0x9abc);
    ASSERT_NOT_NULL(reg.r);
    ASSERT_NOT_NULL(src);
    void* va = kmap_atomic(src);
    EXPECT_EQ(copy_to_region(reg.at(0), va, 16), 16u);   // nothing copied
    kunmap_atomic(va);
    EXPECT_EQ(reg.r->faults.load(), 0u);
    free_page(src);
}

namespace {
u32 per_cpu_counter[x86::NR_CPUS];
}

// seeds/000: "kmap_atomic(); smp_processor_id(); kunmap_atomic();" has a
// dependency on the implicit preempt_disable; converted, the preemption
// guard is explicit and says why it is there.
KTEST(kmap_conversion, seed000_per_cpu_access_converted_with_an_explicit_preempt_guard) {
    Page* page = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(page);
    {   // before: the side effect did the work
        void* va = kmap_atomic(page);
        ++per_cpu_counter[smp_processor_id()];
        kunmap_atomic(va);
    }
    {   // after: kmap_local, and the preemption guard smp_processor_id() needs
        LocalMapping map(page);
        sched::PreemptGuard this_cpu_stays;
        ++per_cpu_counter[smp_processor_id()];
    }
    free_page(page);
}

// The unconverted version: kmap_local of a lowmem page disables nothing (not
// even migration), so the per-CPU access is caught by the debug check.
KTEST(kmap_conversion, seed000_unconverted_per_cpu_access_is_caught) {
    if (KMAP_FORCE_MAP)
        KTEST_SKIP("force-map (debug build): lowmem kmap_local disables migration too");
    KTEST_EXPECT_WARN("percpu.preemptible_access", 1);
    Page* page = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(page);
    {
        LocalMapping map(page);   // lowmem: the direct-map address, nothing else
        ++per_cpu_counter[smp_processor_id()];
    }
    free_page(page);
}
