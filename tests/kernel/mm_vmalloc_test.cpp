// vmalloc: areas backed by any pages, a guard page after each, freed areas
// unmapped, and fault-region descriptions.
#include "arch/x86/nofault.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/fault.h"
#include "mm/fixmap.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/pgtable.h"
#include "mm/vmalloc.h"
#include "mm/zone.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(mm_vmalloc);

namespace {
// Page tables of the vmalloc window are allocated on first use and kept.
u32 vmalloc_page_tables() {
    u32 n = 0;
    const u32 first = x86::pde_index(VirtAddr(VMALLOC_START));
    const u32 last = x86::pde_index(VirtAddr(VMALLOC_END - 1));
    for (u32 i = first; i <= last; ++i)
        n += x86::read_pde(&swapper_pg_dir[i]).present();
    return n;
}

bool described_as(u32 va, const char* tag) {
    char text[160];
    describe_address(va, text, sizeof(text));
    return lib::strstr(text, tag) != nullptr;
}
} // namespace

KTEST(mm_vmalloc, area_is_usable_then_guarded_then_gone) {
    const u32 free_before = nr_free_pages();
    const u32 tables_before = vmalloc_page_tables();
    const u32 used_before = vmalloc_used_pages();
    auto* area = static_cast<u32*>(vmalloc(5 * PAGE_SIZE, "mm_vmalloc test"));
    ASSERT_NOT_NULL(area);
    const u32 va = reinterpret_cast<u32>(area);
    EXPECT_GE(va, VMALLOC_START);
    EXPECT_LT(va + 5 * PAGE_SIZE, VMALLOC_END);
    for (u32 i = 0; i < 5 * PAGE_SIZE / 4; ++i)
        area[i] = i * 2654435761u;
    u32 bad = 0;
    for (u32 i = 0; i < 5 * PAGE_SIZE / 4; ++i)
        bad += area[i] != i * 2654435761u;
    EXPECT_EQ(bad, 0u);

    u32 v;
    const x86::NofaultResult guard = x86::nofault_read32(area + 5 * PAGE_SIZE / 4, &v);
    EXPECT_FALSE(guard.ok);
    EXPECT_EQ(guard.error_code & 1, 0u);   // not present
    EXPECT_TRUE(described_as(va + PAGE_SIZE, "of mm_vmalloc test, page 1 [vmalloc]"));
    EXPECT_TRUE(described_as(va + 5 * PAGE_SIZE, "[vmalloc-guard]"));

    vfree(area);
    EXPECT_FALSE(x86::nofault_read32(area, &v).ok);
    EXPECT_TRUE(described_as(va, "[vmalloc-unused]"));
    // Every page came back, except new page tables, which stay.
    EXPECT_EQ(vmalloc_used_pages(), used_before);
    EXPECT_EQ(nr_free_pages(), free_before - (vmalloc_page_tables() - tables_before));
}

KTEST(mm_vmalloc, areas_prefer_highmem_pages) {
    if (max_pfn == max_low_pfn)
        KTEST_SKIP("no highmem in this configuration");
    // Highmem is used while it lasts (mem=L+1page leaves exactly one page).
    const u32 highmem_free = zone_free_pages(ZONE_HIGHMEM);
    auto* area = static_cast<u8*>(vmalloc(4 * PAGE_SIZE, "highmem-backed"));
    ASSERT_NOT_NULL(area);
    u32 highmem_pages = 0;
    for (u32 i = 0; i < 4; ++i) {
        const x86::Pte* pte = lookup_kernel_pte(VirtAddr(area) + i * PAGE_SIZE);
        ASSERT_NOT_NULL(pte);
        highmem_pages += is_highmem_pfn(x86::read_pte(pte).pfn());
    }
    EXPECT_EQ(highmem_pages, min(4u, highmem_free));
    lib::memset(area, 0xab, 4 * PAGE_SIZE);
    EXPECT_EQ(area[4 * PAGE_SIZE - 1], 0xab);
    vfree(area);
}

KTEST(mm_vmalloc, consecutive_areas_are_separated_by_guards) {
    void* a = vmalloc(PAGE_SIZE, "first");
    void* b = vmalloc(PAGE_SIZE, "second");
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    const u32 gap = reinterpret_cast<u32>(b) > reinterpret_cast<u32>(a)
                        ? reinterpret_cast<u32>(b) - reinterpret_cast<u32>(a)
                        : reinterpret_cast<u32>(a) - reinterpret_cast<u32>(b);
    EXPECT_GE(gap, 2 * PAGE_SIZE);
    vfree(b);
    vfree(a);
}

KTEST(mm_vmalloc, bad_vfree_warns) {
    KTEST_EXPECT_WARN("vmalloc.bad_free", 2);
    void* a = vmalloc(2 * PAGE_SIZE, "bad_vfree");
    ASSERT_NOT_NULL(a);
    vfree(static_cast<u8*>(a) + PAGE_SIZE);   // not the start
    vfree(reinterpret_cast<void*>(VMALLOC_START - PAGE_SIZE));
    vfree(a);
}

KTEST(mm_vmalloc, regions_are_named) {
    EXPECT_TRUE(described_as(0, "[null]"));
    EXPECT_TRUE(described_as(0x100000, "[user]"));
    EXPECT_TRUE(described_as(PAGE_OFFSET + 0x200000, "[direct-map]"));
    EXPECT_TRUE(described_as(PKMAP_BASE + 5 * PAGE_SIZE, "pkmap slot 5 [pkmap]"));
    EXPECT_TRUE(described_as(fix_to_virt(FIX_HOLE), "[fixmap-hole]"));
    EXPECT_TRUE(described_as(fix_to_virt(FIX_KMAP_BEGIN + KM_MAX_IDX + 3),
                             "kmap_local slot 3 of CPU 1"));
    EXPECT_TRUE(described_as(fix_to_virt(FIX_BTMAP_BEGIN), "early-ioremap slot 0, page 0"));
}
