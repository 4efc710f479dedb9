// Kernel page tables after boot: the direct map, what must not be mapped, what
// must be read-only, and the layout invariants L1-L3, L5, L6 of the spec.
#include "arch/x86/cpuid.h"
#include "arch/x86/nofault.h"
#include "mm/fixmap.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/pgtable.h"
#include "mm/vmalloc.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using x86::nofault_read32;
using x86::nofault_write32;

KTEST_SUITE(mm_paging);

namespace {

constexpr u32 PF_PRESENT = 1, PF_WRITE = 2;

[[gnu::noinline]] u32 text_probe(u32 x) { return x * 7 + 3; }
[[gnu::used]] const u32 rodata_probe = 0x0badc0de;
[[gnu::used]] u32 data_probe = 0x600d;

u32 lowmem_end() { return PAGE_OFFSET + static_cast<u32>(max_low_pfn.phys().value()); }

} // namespace

KTEST(mm_paging, direct_map_round_trip_across_lowmem) {
    u32 bad_round_trip = 0, bad_pte = 0, unreadable = 0, checked = 0;
    const u32 step = max<u32>(1, max_low_pfn.value() / 4096);
    for (u32 p = 1; p < max_low_pfn.value(); p += step) {
        const Pfn pfn(p);
        void* va = phys_to_virt(pfn.phys());
        bad_round_trip += virt_to_phys(va) != pfn.phys() || page_address(pfn_to_page(pfn)) != va ||
                          virt_to_page(va) != pfn_to_page(pfn);
        const x86::Pte* pte = lookup_kernel_pte(VirtAddr(va));
        if (pte && x86::read_pte(pte).present()) {
            bad_pte += x86::read_pte(pte).pfn() != pfn;
            u32 v;
            unreadable += !nofault_read32(va, &v);
        }
        ++checked;
    }
    EXPECT_EQ(bad_round_trip, 0u);
    EXPECT_EQ(bad_pte, 0u);
    EXPECT_EQ(unreadable, 0u);
    EXPECT_GT(checked, 100u);
    // The last lowmem page too.
    void* last = phys_to_virt((max_low_pfn - 1).phys());
    u32 v;
    EXPECT_TRUE(nofault_read32(last, &v).ok);
}

KTEST(mm_paging, kernel_pages_are_global_when_the_cpu_has_pge) {
    const x86::Pte* pte = lookup_kernel_pte(VirtAddr(&data_probe));
    ASSERT_NOT_NULL(pte);
    EXPECT_EQ(x86::read_pte(pte).global(), x86::cpu_features().pge);
}

KTEST(mm_paging, highmem_page_has_no_address) {
    if (max_pfn == max_low_pfn)
        KTEST_SKIP("no highmem in this configuration");
    EXPECT_NULL(page_address(pfn_to_page(max_low_pfn)));
    EXPECT_NULL(page_address(pfn_to_page(max_pfn - 1)));
    EXPECT_NOT_NULL(page_address(pfn_to_page(max_low_pfn - 1)));
}

KTEST(mm_paging, null_page_and_hole_above_lowmem_fault) {
    u32 v;
    const x86::NofaultResult null_read = nofault_read32(nullptr, &v);
    EXPECT_FALSE(null_read.ok);
    EXPECT_EQ(null_read.error_code & PF_PRESENT, 0u);
    EXPECT_EQ(null_read.address, 0u);
    EXPECT_FALSE(nofault_read32(reinterpret_cast<void*>(PAGE_OFFSET), &v).ok);   // page 0's alias
    const u32 hole = lowmem_end() + PAGE_SIZE;
    ASSERT_LT(hole, VMALLOC_START);
    const x86::NofaultResult r = nofault_read32(reinterpret_cast<void*>(hole), &v);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.address, hole);
}

KTEST(mm_paging, boot_identity_map_is_gone) {
    u32 v;
    const x86::NofaultResult r = nofault_read32(reinterpret_cast<void*>(0x100000), &v);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error_code & PF_PRESENT, 0u);
}

KTEST(mm_paging, text_and_rodata_are_read_only) {
    EXPECT_EQ(text_probe(1), 10u);
    const x86::NofaultResult t = nofault_write32(reinterpret_cast<void*>(&text_probe), 0xcccccccc);
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.error_code & (PF_PRESENT | PF_WRITE), PF_PRESENT | PF_WRITE);
    const x86::NofaultResult ro = nofault_write32(const_cast<u32*>(&rodata_probe), 1);
    EXPECT_FALSE(ro.ok);
    EXPECT_EQ(ro.error_code & (PF_PRESENT | PF_WRITE), PF_PRESENT | PF_WRITE);
    EXPECT_EQ(rodata_probe, 0x0badc0deu);
    EXPECT_TRUE(nofault_write32(&data_probe, 0x600e).ok);   // data stays writable
    EXPECT_EQ(data_probe, 0x600eu);
    u32 v;
    EXPECT_TRUE(nofault_read32(reinterpret_cast<void*>(&text_probe), &v).ok);
}

KTEST(mm_paging, layout_invariants_l1_l2_l5_l6) {
    EXPECT_EQ(PKMAP_BASE % PMD_SIZE, 0u);                               // L1
    EXPECT_EQ(LAST_PKMAP * PAGE_SIZE, PMD_SIZE);
    EXPECT_LE(VMALLOC_END, PKMAP_BASE - 2 * PAGE_SIZE);                 // L2
    EXPECT_LE(PKMAP_BASE + LAST_PKMAP * PAGE_SIZE, FIXADDR_START);
    EXPECT_LT(VMALLOC_START, VMALLOC_END);
    EXPECT_LE(lowmem_end(), VMALLOC_START);
    const x86::Pde* pkmap_pde = &swapper_pg_dir[x86::pde_index(VirtAddr(PKMAP_BASE))];
    EXPECT_TRUE(x86::read_pde(pkmap_pde).present());                    // L5
    EXPECT_EQ(lookup_kernel_pte(VirtAddr(PKMAP_BASE)), pkmap_page_table());
    u32 v;
    EXPECT_FALSE(nofault_read32(reinterpret_cast<void*>(fix_to_virt(FIX_HOLE)), &v).ok);  // L6
}

KTEST(mm_paging, fixmap_round_trip_l3) {
    u32 bad = 0;
    for (u32 i = 0; i < END_OF_FIXED_ADDRESSES; ++i) {
        bad += virt_to_fix(fix_to_virt(i)) != i;
        if (i + 1 < END_OF_FIXED_ADDRESSES)
            bad += fix_to_virt(i + 1) != fix_to_virt(i) - PAGE_SIZE;
    }
    EXPECT_EQ(bad, 0u);
}
