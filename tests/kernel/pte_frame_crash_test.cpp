// A frame that a PTE cannot address (2-level: pfn >= 2^20, at or above
// 4 GiB; PAE: pfn >= 2^24, at or above 64 GiB) must not be truncated into
// another frame: x86::Pte::make BUGs (paging.frame_unmappable). One crash test per mapping
// path that can be handed such a frame, each naming the path in its trace:
// kmap_local_pfn, and the fixmap through early ioremap (a firmware table may
// lie that high). The pkmap pool maps struct pages, and none exists that
// high (the memory map ignores RAM there); map_new_virtual builds its PTE
// with Pte::make all the same.
#include "mm/fixmap.h"
#include "mm/kmap_local.h"
#include "tests/ktest/ktest.h"

using namespace mm;

namespace {

// The first frame out of reach, and a table 1 GiB above it.
constexpr Pfn FIRST_UNMAPPABLE_PFN = x86::PTE_PFN_LIMIT;
constexpr PhysAddr A_TABLE_OUT_OF_REACH = FIRST_UNMAPPABLE_PFN.phys() + (1u << 30);
#if HIMEM_PAE
#define FIRST_UNMAPPABLE "pfn 0x1000000 (physical 0x1000000000)"
#define TABLE_OUT_OF_REACH "physical 0x1040000000"
#else
#define FIRST_UNMAPPABLE "pfn 0x100000 (physical 0x100000000)"
#define TABLE_OUT_OF_REACH "physical 0x140000000"
#endif

[[gnu::noinline]] void kmap_local_the_first_frame_above_4g() {
    kmap_local_pfn(FIRST_UNMAPPABLE_PFN);
}

[[gnu::noinline]] void early_ioremap_a_table_at_5g() {
    early_ioremap(A_TABLE_OUT_OF_REACH, PAGE_SIZE);
}

} // namespace

KTEST_CRASH(kmap_local_pfn_above_4g_is_refused, .site = "paging.frame_unmappable",
            .frames = "kmap_local_pfn,kmap_local_the_first_frame_above_4g",
            .report = FIRST_UNMAPPABLE "|would map pfn 0 instead") {
    kmap_local_the_first_frame_above_4g();
}

KTEST_CRASH(fixmap_early_ioremap_above_4g_is_refused, .site = "paging.frame_unmappable",
            .frames = "set_fixmap,early_ioremap,early_ioremap_a_table_at_5g",
            .report = TABLE_OUT_OF_REACH "|would map pfn 0x40000 instead") {
    early_ioremap_a_table_at_5g();
}
