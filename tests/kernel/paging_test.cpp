// The page-table entry types of arch/x86/paging.h, apart from any live
// table: what Pte::make builds, what the accessors of an entry return, the
// accessors' effect on plain memory, and the geometry mm derives from the
// paging method. (A frame the mode cannot map is a crash test:
// pte_frame_crash_test.cpp.)
#include "arch/x86/paging.h"
#include "lib/format.h"
#include "tests/ktest/ktest.h"

using x86::Pde;
using x86::Pte;
using x86::PteFlags;
using lib::PAGE_SHIFT;
using lib::PAGE_SIZE;
using lib::Pfn;
using lib::VirtAddr;

KTEST_SUITE(paging);

namespace {

constexpr PteFlags PW = x86::PTE_PRESENT | x86::PTE_WRITE;
constexpr PteFlags AD = x86::PTE_ACCESSED | x86::PTE_DIRTY;

// What the types promise, checked by the compiler.
static_assert(Pte().none() && !Pte().present() && Pte().raw() == 0);
static_assert(Pte::make(Pfn(0x12345), PW).pfn() == Pfn(0x12345));
static_assert(Pte::make(Pfn(0x12345), PW).flags() == PW);
static_assert(Pte::make(Pfn(0x12345), PW).raw() == ((Pte::Raw{0x12345} << PAGE_SHIFT) | PW.value()));
static_assert(Pte::make(Pfn(1), PW).without(x86::PTE_WRITE) == Pte::make(Pfn(1), x86::PTE_PRESENT));
static_assert(Pte::make(Pfn(1), PW).with(AD).without(AD) == Pte::make(Pfn(1), PW));
static_assert(x86::PTRS_PER_PTE * PAGE_SIZE == x86::PMD_SIZE);
static_assert(u64{x86::PTRS_PER_PD} * x86::PMD_SIZE == 1ull << 32);

// Frames from the bottom to the top of what the mode can map, and flag
// sets from none to all twelve low bits.
constexpr Pfn FRAMES[] = {Pfn(0), Pfn(1), Pfn(0x373fe), Pfn(0x7ffdf), x86::PTE_PFN_LIMIT - 1};
constexpr PteFlags FLAG_SETS[] = {
    PteFlags(),
    x86::PTE_PRESENT,
    PW,
    PW | x86::PTE_GLOBAL,
    x86::PTE_PRESENT | x86::PTE_PCD | x86::PTE_PWT,
    PteFlags(PAGE_SIZE - 1),
};

} // namespace

KTEST(paging, make_keeps_frame_and_flags_apart) {
    u32 bad_pfn = 0, bad_flags = 0, bad_bits = 0, bad_raw = 0;
    for (Pfn pfn : FRAMES) {
        for (PteFlags flags : FLAG_SETS) {
            const Pte pte = Pte::make(pfn, flags);
            bad_pfn += pte.pfn() != pfn;
            bad_flags += pte.flags() != flags;
            bad_bits += pte.present() != flags.has(x86::PTE_PRESENT) ||
                        pte.writable() != flags.has(x86::PTE_WRITE) ||
                        pte.global() != flags.has(x86::PTE_GLOBAL) ||
                        pte.accessed() != flags.has(x86::PTE_ACCESSED) ||
                        pte.dirty() != flags.has(x86::PTE_DIRTY);
            bad_raw += pte.raw() != ((Pte::Raw{pfn.value()} << PAGE_SHIFT) | flags.value());
        }
    }
    EXPECT_EQ(bad_pfn, 0u);
    EXPECT_EQ(bad_flags, 0u);
    EXPECT_EQ(bad_bits, 0u);
    EXPECT_EQ(bad_raw, 0u);
}

KTEST(paging, with_and_without_change_only_the_flags_named) {
    const Pte pte = Pte::make(Pfn(0x4242), PW | x86::PTE_GLOBAL);
    const Pte ro = pte.without(x86::PTE_WRITE);
    EXPECT_FALSE(ro.writable());
    EXPECT_TRUE(ro.present());
    EXPECT_TRUE(ro.global());
    EXPECT_EQ(ro.pfn(), Pfn(0x4242));
    EXPECT_TRUE(ro.with(x86::PTE_WRITE) == pte);
    const Pte touched = pte.with(AD);
    EXPECT_TRUE(touched.accessed());
    EXPECT_TRUE(touched.dirty());
    EXPECT_TRUE(touched != pte);
    EXPECT_TRUE(touched.without(AD) == pte);
}

KTEST(paging, accessors_write_read_and_clear_one_entry) {
    // Plain memory, not a table any CPU walks: only the accessors' effect.
    Pte ptes[3] = {};
    const Pte pte = Pte::make(Pfn(0x1234), PW);
    x86::set_pte(&ptes[1], pte);
    EXPECT_TRUE(x86::read_pte(&ptes[1]) == pte);
    EXPECT_TRUE(x86::read_pte(&ptes[0]).none());
    EXPECT_TRUE(x86::read_pte(&ptes[2]).none());
    x86::pte_clear(&ptes[1]);
    EXPECT_TRUE(x86::read_pte(&ptes[1]).none());

    Pde pdes[2] = {};
    const Pde table = Pde::make(Pfn(0x5678), PW);
    x86::set_pde(&pdes[0], table);
    EXPECT_TRUE(x86::read_pde(&pdes[0]) == table);
    EXPECT_EQ(x86::read_pde(&pdes[0]).pfn(), Pfn(0x5678));
    EXPECT_FALSE(x86::read_pde(&pdes[0]).large());
    EXPECT_TRUE(x86::read_pde(&pdes[1]).none());
    x86::pde_clear(&pdes[0]);
    EXPECT_FALSE(x86::read_pde(&pdes[0]).present());
}

KTEST(paging, a_raw_entry_prints_whatever_its_width) {
    char text[32];
    lib::format(text, sizeof(text), "%#" PRIxPTE, Pte::make(Pfn(0x12345), PW).raw());
    EXPECT_STREQ(text, "0x12345003");
}

KTEST(paging, indices_rebuild_the_address) {
    constexpr u32 addresses[] = {0, 0x00400000, 0xc0000000, 0xc0123abc, 0xff3fdfff, 0xfffff000,
                                 0xffffffff};
    u32 bad = 0;
    for (u32 a : addresses) {
        const VirtAddr va(a);
        const u32 rebuilt = (x86::pde_index(va) * x86::PMD_SIZE) |
                            (x86::pte_index(va) << PAGE_SHIFT) | va.offset_in_page();
        bad += rebuilt != a || x86::pde_index(va) >= x86::PTRS_PER_PD ||
               x86::pte_index(va) >= x86::PTRS_PER_PTE;
    }
    EXPECT_EQ(bad, 0u);
}
