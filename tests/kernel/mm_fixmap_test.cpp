// The fixmap: slots map any page (highmem too) with a local flush, the kmap
// PTEs are one linear array across page tables (L4), the per-CPU slot blocks
// kmap_local really uses are disjoint (L7), and early ioremap reads firmware
// tables wherever they lie.
#include "arch/x86/acpi.h"
#include "arch/x86/nofault.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "lib/bitmap.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/fixmap.h"
#include "mm/kmap_local.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/pgtable.h"
#include "mm/zone.h"
#include "sched/task.h"
#include "tests/ktest/ktest.h"
#include "tests/kernel/helpers.h"

using namespace mm;

KTEST_SUITE(mm_fixmap);

namespace {

// Until kmap_local exists, tests borrow this CPU's last two kmap slots.
u32 test_slot(unsigned n) {
    return FIX_KMAP_BEGIN + KM_MAX_IDX * x86::this_cpu_index() + KM_MAX_IDX - 1 - n;
}

void* early_map(u64 phys, u32 size) { return early_ioremap(PhysAddr(phys), size); }
void early_unmap(void* addr, u32 size) { early_iounmap(addr, size); }
const x86::acpi::PhysWindow window{early_map, early_unmap};

} // namespace

KTEST(mm_fixmap, slot_maps_a_highmem_page_and_clear_unmaps_it) {
    if (zone_free_pages(ZONE_HIGHMEM) == 0)
        KTEST_SKIP("no free highmem page in this configuration");
    Page* page = test_support::alloc_highuser_page();
    ASSERT_NOT_NULL(page);
    ASSERT_TRUE(is_highmem(page));
    const x86::PteFlags flags = x86::PTE_PRESENT | x86::PTE_WRITE;
    set_fixmap(test_slot(0), page_to_phys(page), flags);
    auto* a = reinterpret_cast<u32*>(fix_to_virt(test_slot(0)));
    for (u32 i = 0; i < PAGE_SIZE / 4; ++i)
        a[i] = i ^ 0xfeedf00d;
    clear_fixmap(test_slot(0));
    u32 v;
    EXPECT_FALSE(x86::nofault_read32(a, &v).ok);   // cleared and flushed
    // The same page through another slot still holds what was written.
    set_fixmap(test_slot(1), page_to_phys(page), flags);
    const auto* b = reinterpret_cast<const u32*>(fix_to_virt(test_slot(1)));
    u32 bad = 0;
    for (u32 i = 0; i < PAGE_SIZE / 4; ++i)
        bad += b[i] != (i ^ 0xfeedf00d);
    clear_fixmap(test_slot(1));
    EXPECT_EQ(bad, 0u);
    free_page(page);
}

KTEST(mm_fixmap, kmap_ptes_are_linear_across_the_whole_range_l4) {
    const u32 slots = KM_SLOTS_PER_CPU * x86::NR_CPUS;
    // The range must cross a page-table boundary, or this proves little.
    EXPECT_NE(x86::pde_index(VirtAddr(fix_to_virt(FIX_KMAP_BEGIN))),
              x86::pde_index(VirtAddr(fix_to_virt(FIX_KMAP_BEGIN + slots - 1))));
    x86::Pte* base = kmap_pte_base();
    u32 bad = 0;
    for (u32 idx = 0; idx < slots; ++idx)
        bad += base - idx != lookup_kernel_pte(VirtAddr(fix_to_virt(FIX_KMAP_BEGIN + idx)));
    EXPECT_EQ(bad, 0u);
}

namespace {

// L7's live half: what two nested kmap_local_pfn() give a pinned thread.
struct LiveSlots {
    Pfn pfn[2];
    unsigned ran_on;
    u32 va[2];
    x86::Pte pte[2];
};

void map_two_on_this_cpu(void* arg) {
    auto* s = static_cast<LiveSlots*>(arg);
    s->ran_on = x86::this_cpu_index();
    void* a = kmap_local_pfn(s->pfn[0]);
    void* b = kmap_local_pfn(s->pfn[1]);
    s->va[0] = reinterpret_cast<u32>(a);
    s->va[1] = reinterpret_cast<u32>(b);
    s->pte[0] = x86::read_pte(lookup_kernel_pte(VirtAddr(a)));
    s->pte[1] = x86::read_pte(lookup_kernel_pte(VirtAddr(b)));
    kunmap_local(b);
    kunmap_local(a);
}

} // namespace

KTEST(mm_fixmap, cpu_slot_blocks_are_disjoint_l7) {
    // The slot addresses kmap_local computes, read back through the fixmap.
    const u32 highest = fix_to_virt(FIX_KMAP_BEGIN);
    const u32 lowest = kmap_local_slot_address(x86::NR_CPUS - 1, KM_MAX_IDX - 1);
    Bitmap<END_OF_PERMANENT_FIXED_ADDRESSES> taken;
    u32 outside = 0, wrong_index = 0, reused = 0, not_contiguous = 0, not_kmap = 0;
    for (unsigned c = 0; c < x86::NR_CPUS; ++c) {
        for (unsigned p = 0; p < KM_MAX_IDX; ++p) {
            const u32 va = kmap_local_slot_address(c, p);
            if (va < fix_to_virt(FIX_KMAP_END) || va > highest) {
                ++outside;   // not looked up: virt_to_fix() BUGs outside the fixmap
                continue;
            }
            const u32 idx = virt_to_fix(va);
            const u32 want = FIX_KMAP_BEGIN + p + KM_MAX_IDX * c;
            if (idx != want && wrong_index++ == 0)
                ktest_ctx.diag("CPU %u position %u: %#x is fixmap index %u, not %u", c, p, va,
                               idx, want);
            reused += taken.test_and_set(idx);
            not_contiguous += va != kmap_local_slot_address(c, 0) - p * PAGE_SIZE;
            not_kmap += !is_kmap_local_address(va);
        }
        // CPU c + 1's block starts below CPU c's last slot.
        if (c + 1 < x86::NR_CPUS)
            not_contiguous += kmap_local_slot_address(c + 1, 0) >=
                              kmap_local_slot_address(c, KM_MAX_IDX - 1);
    }
    EXPECT_EQ(outside, 0u);
    EXPECT_EQ(wrong_index, 0u);
    EXPECT_EQ(reused, 0u);
    EXPECT_EQ(not_contiguous, 0u);
    EXPECT_EQ(not_kmap, 0u);
    EXPECT_FALSE(is_kmap_local_address(highest + PAGE_SIZE));   // FIX_APIC_BASE
    EXPECT_FALSE(is_kmap_local_address(lowest - 1));            // the page below the last slot

    // Live: a mapping made on each online CPU lands in that CPU's block.
    Page* pages[2] = {alloc_page(Gfp::Kernel), alloc_page(Gfp::Kernel)};
    ASSERT_NOT_NULL(pages[0]);
    ASSERT_NOT_NULL(pages[1]);
    for (unsigned c = 0; c < x86::NR_CPUS; ++c) {
        if (!x86::cpu_online(c))
            continue;
        LiveSlots s{{page_to_pfn(pages[0]), page_to_pfn(pages[1])}, ~0u, {}, {}};
        sched::KthreadOptions pinned;
        pinned.allowed = x86::cpu_bit(c);
        pinned.cpu = static_cast<int>(c);
        sched::Task* t = sched::kthread_create(map_two_on_this_cpu, &s, "l7-mapper", pinned);
        ASSERT_NOT_NULL(t);
        sched::kthread_join(t);
        EXPECT_EQ(s.ran_on, c);
        for (unsigned n = 0; n < 2; ++n) {
            const unsigned pos = (n + 1) * KM_INCR - 1;   // odd positions in debug
            EXPECT_EQ(s.va[n], fix_to_virt(FIX_KMAP_BEGIN + KM_MAX_IDX * c + pos));
            EXPECT_TRUE(s.pte[n].present());
            EXPECT_EQ(s.pte[n].pfn(), s.pfn[n]);
        }
    }
    free_page(pages[0]);
    free_page(pages[1]);
}

KTEST(mm_fixmap, early_ioremap_reads_a_firmware_table) {
    x86::acpi::Rsdp rsdp;
    const u64 rsdp_phys = x86::acpi::find_rsdp(window, &rsdp);
    ASSERT_NE(rsdp_phys, 0ull);
    EXPECT_EQ(lib::memcmp(rsdp.signature, "RSD PTR ", 8), 0);
    // The RSDT sits near the top of RAM: above lowmem on large configurations.
    auto* rsdt = static_cast<const x86::acpi::TableHeader*>(early_map(rsdp.rsdt_address, PAGE_SIZE));
    ASSERT_NOT_NULL(rsdt);
    const u32 va = reinterpret_cast<u32>(rsdt);
    EXPECT_GE(va, fix_to_virt(FIX_BTMAP_BEGIN));
    EXPECT_LT(va, fix_to_virt(FIX_BTMAP_END) + PAGE_SIZE);
    EXPECT_EQ(lib::memcmp(rsdt->signature, "RSDT", 4), 0);
    const u32 length = rsdt->length;
    early_unmap(const_cast<x86::acpi::TableHeader*>(rsdt), PAGE_SIZE);
    ASSERT_LE(length, NR_FIX_BTMAPS * PAGE_SIZE);
    const void* whole = early_map(rsdp.rsdt_address, length);
    ASSERT_NOT_NULL(whole);
    EXPECT_TRUE(x86::acpi::checksum_ok(whole, length));
    early_unmap(const_cast<void*>(whole), length);
    ktest_ctx.diag("RSDT at %#x (%s lowmem), %u bytes", rsdp.rsdt_address,
                   rsdp.rsdt_address >= max_low_pfn.phys().value() ? "above" : "in", length);
    x86::acpi::TableRef madt;
    EXPECT_TRUE(x86::acpi::find_table(window, "APIC", &madt));
}

KTEST(mm_fixmap, early_ioremap_slots_run_out_with_a_warn) {
    KTEST_EXPECT_WARN("fixmap.early_ioremap_full", 1);
    void* maps[FIX_BTMAPS_SLOTS];
    for (void*& m : maps) {
        m = early_map(0xf0000, PAGE_SIZE);
        ASSERT_NOT_NULL(m);
    }
    EXPECT_NULL(early_map(0xf0000, PAGE_SIZE));
    for (void* m : maps)
        early_unmap(m, PAGE_SIZE);
    void* again = early_map(0xf0000, PAGE_SIZE);
    EXPECT_NOT_NULL(again);
    early_unmap(again, PAGE_SIZE);
}
