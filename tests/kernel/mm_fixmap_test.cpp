// The fixmap: slots map any page (highmem too) with a local flush, the kmap
// PTEs are one linear array across page tables (L4), CPU blocks are disjoint
// (L7), and early ioremap reads firmware tables wherever they lie.
#include "arch/x86/acpi.h"
#include "arch/x86/nofault.h"
#include "arch/x86/percpu.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/fixmap.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/pgtable.h"
#include "mm/zone.h"
#include "tests/ktest/ktest.h"

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
    Page* page = alloc_page(Gfp::HighUser);
    ASSERT_NOT_NULL(page);
    ASSERT_TRUE(is_highmem(page));
    const x86::pte_t flags = x86::PTE_PRESENT | x86::PTE_WRITE;
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
    EXPECT_NE(x86::pgd_index(fix_to_virt(FIX_KMAP_BEGIN)),
              x86::pgd_index(fix_to_virt(FIX_KMAP_BEGIN + slots - 1)));
    x86::pte_t* base = kmap_pte_base();
    u32 bad = 0;
    for (u32 idx = 0; idx < slots; ++idx)
        bad += base - idx != lookup_kernel_pte(fix_to_virt(FIX_KMAP_BEGIN + idx));
    EXPECT_EQ(bad, 0u);
}

KTEST(mm_fixmap, cpu_slot_blocks_are_disjoint_l7) {
    for (u32 c = 0; c + 1 < x86::NR_CPUS; ++c) {
        const u32 last_of_c = FIX_KMAP_BEGIN + KM_MAX_IDX * c + KM_MAX_IDX - 1;
        const u32 first_of_next = FIX_KMAP_BEGIN + KM_MAX_IDX * (c + 1);
        EXPECT_LT(last_of_c, first_of_next);
    }
    EXPECT_LE(FIX_KMAP_BEGIN + KM_MAX_IDX * x86::NR_CPUS - 1, static_cast<u32>(FIX_KMAP_END));
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
