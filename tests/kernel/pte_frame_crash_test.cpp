// A frame that a 2-level PTE cannot address (pfn >= 2^20: at or above
// 4 GiB) must not be truncated into another frame: x86::Pte::make BUGs
// (paging.frame_unmappable) until PAE exists. One crash test per mapping
// path that can be handed such a frame, each naming the path in its trace:
// kmap_local_pfn, and the fixmap through early ioremap (a firmware table may
// lie above 4 GiB). The pkmap pool maps struct pages, and none exists above
// 4 GiB here (the memory map ignores RAM there); map_new_virtual builds its
// PTE with Pte::make all the same.
#include "mm/fixmap.h"
#include "mm/kmap_local.h"
#include "tests/ktest/ktest.h"

using namespace mm;

namespace {

constexpr Pfn FIRST_PFN_ABOVE_4G{0x100000};

[[gnu::noinline]] void kmap_local_the_first_frame_above_4g() {
    kmap_local_pfn(FIRST_PFN_ABOVE_4G);
}

[[gnu::noinline]] void early_ioremap_a_table_at_5g() {
    early_ioremap(PhysAddr(0x140000000ull), PAGE_SIZE);
}

} // namespace

KTEST_CRASH(kmap_local_pfn_above_4g_is_refused, .site = "paging.frame_unmappable",
            .frames = "kmap_local_pfn,kmap_local_the_first_frame_above_4g",
            .report = "pfn 0x100000|would map pfn 0 instead") {
    kmap_local_the_first_frame_above_4g();
}

KTEST_CRASH(fixmap_early_ioremap_above_4g_is_refused, .site = "paging.frame_unmappable",
            .frames = "set_fixmap,early_ioremap,early_ioremap_a_table_at_5g",
            .report = "physical 0x140000000|would map pfn 0x40000 instead") {
    early_ioremap_a_table_at_5g();
}
