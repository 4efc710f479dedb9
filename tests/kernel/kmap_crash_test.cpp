// kmap_local's BUGs (K4's overflow, K5, K6) and K14's negative control.
// kmap_local_pfn always takes a slot (K9), so these need no highmem.
#include "lib/bug.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "mm/pgtable.h"
#include "arch/x86/percpu.h"
#include "tests/ktest/ktest.h"

using namespace mm;

void kmap_switch_single_phase_crash();   // kmap_switch_test.cpp

namespace {

[[gnu::noinline]] void map_one_too_many() {
    Page* page = alloc_page(Gfp::Kernel);
    BUG_ON(!page);
    // One more than the limit: the 16th map (the 17th in the debug build) BUGs.
    constexpr unsigned LIMIT = (KM_MAX_IDX - 1) / KM_INCR;
    for (unsigned i = 0; i < LIMIT + 1; ++i)
        kmap_local_pfn(page_to_pfn(page));
}

[[gnu::noinline]] void unmap_with_nothing_mapped() {
    kunmap_local(reinterpret_cast<void*>(kmap_local_slot_address(x86::this_cpu_index(), KM_INCR - 1)));
}

[[gnu::noinline]] void map_into_a_stale_slot() {
    Page* page = alloc_page(Gfp::Kernel);
    BUG_ON(!page);
    const u32 slot = kmap_local_slot_address(x86::this_cpu_index(), KM_INCR - 1);
    x86::set_pte(lookup_kernel_pte(VirtAddr(slot)),
                 x86::Pte::make(page_to_pfn(page), x86::PTE_PRESENT));
    kmap_local_pfn(page_to_pfn(page));
}

} // namespace

KTEST_CRASH(kmap_local_k4_one_mapping_too_many, .site = "kmap_local.stack_overflow",
            .frames = "map_one_too_many", .report = "the limit is") {
    map_one_too_many();
}

KTEST_CRASH(kmap_local_k5_unmap_with_an_empty_stack, .site = "kmap_local.stack_underflow",
            .frames = "unmap_with_nothing_mapped", .report = "holds no kmap_local mapping") {
    unmap_with_nothing_mapped();
}

KTEST_CRASH(kmap_local_k6_slot_not_empty, .site = "kmap_local.slot_busy",
            .frames = "map_into_a_stale_slot", .report = "is not empty") {
    map_into_a_stale_slot();
}

// The single-phase switch of the original RFC: the interrupt after the
// middle entry pushes onto prev's index and finds a slot already restored
// for next: K6's BUG, from the interrupt handler inside prepare_switch.
KTEST_CRASH(kmap_local_k14_single_phase_switch_hits_k6, .site = "kmap_local.slot_busy",
            .frames = "mapping_interrupt") {
    kmap_switch_single_phase_crash();
}
