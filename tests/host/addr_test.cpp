#include "lib/addr.h"

#include <gtest/gtest.h>

using lib::PAGE_SIZE;
using lib::Pfn;
using lib::PfnRange;
using lib::PhysAddr;
using lib::VirtAddr;

TEST(PhysAddr, RoundsToPages) {
    const PhysAddr a(0x12345);
    EXPECT_EQ(a.page_down().value(), 0x12000u);
    EXPECT_EQ(a.page_up().value(), 0x13000u);
    EXPECT_FALSE(a.page_aligned());
    EXPECT_TRUE(PhysAddr(0x13000).page_aligned());
    EXPECT_EQ(PhysAddr(0x13000).page_up(), PhysAddr(0x13000));
}

TEST(PhysAddr, ReachesAbove4G) {
    const PhysAddr a(0x140000123ull);
    EXPECT_EQ(a.page_down().value(), 0x140000000ull);
    EXPECT_EQ((a + 0x1000).value(), 0x140001123ull);
    EXPECT_EQ(a - PhysAddr(0x100000000ull), 0x40000123ull);
}

TEST(PhysAddr, Compares) {
    const PhysAddr lo(0x1000), hi(0x2000);
    EXPECT_TRUE(lo < hi);
    EXPECT_TRUE(lo <= hi);
    EXPECT_TRUE(hi > lo);
    EXPECT_TRUE(hi >= lo);
    EXPECT_TRUE(lo != hi);
    EXPECT_TRUE(lo == PhysAddr(0x1000));
    EXPECT_FALSE(hi < lo);
}

TEST(Pfn, ConvertsFromAndToPhysAddr) {
    EXPECT_EQ(Pfn::down(PhysAddr(0x12fff)).value(), 0x12u);
    EXPECT_EQ(Pfn::up(PhysAddr(0x12001)).value(), 0x13u);
    EXPECT_EQ(Pfn::up(PhysAddr(0x12000)).value(), 0x12u);
    EXPECT_EQ(Pfn(0x12).phys(), PhysAddr(0x12000));
    // The shift is done in 64 bits: a frame above 4 GiB keeps its address.
    EXPECT_EQ(Pfn(0x140000).phys().value(), 0x140000000ull);
    EXPECT_EQ(Pfn::down(PhysAddr(0x140000000ull)), Pfn(0x140000));
}

TEST(Pfn, Arithmetic) {
    Pfn p(10);
    EXPECT_EQ(p + 5, Pfn(15));
    EXPECT_EQ(p - 3, Pfn(7));
    EXPECT_EQ(Pfn(15) - p, 5u);
    ++p;
    EXPECT_EQ(p, Pfn(11));
    EXPECT_TRUE(Pfn(3) < Pfn(4));
    EXPECT_TRUE(Pfn(4) >= Pfn(4));
}

TEST(PfnRange, PagesAndContains) {
    const PfnRange r{Pfn(0x100), Pfn(0x180)};
    EXPECT_EQ(r.pages(), 0x80u);
    EXPECT_TRUE(r.contains(Pfn(0x100)));
    EXPECT_TRUE(r.contains(Pfn(0x17f)));
    EXPECT_FALSE(r.contains(Pfn(0x180)));
    EXPECT_FALSE(r.contains(Pfn(0xff)));
    const PfnRange backwards{Pfn(0x180), Pfn(0x100)};
    EXPECT_EQ(backwards.pages(), 0u);
    EXPECT_FALSE(backwards.contains(Pfn(0x140)));
}

TEST(VirtAddr, PageParts) {
    const VirtAddr va(0xffbdd123);
    EXPECT_EQ(va.value(), 0xffbdd123u);
    EXPECT_EQ(va.page_down(), VirtAddr(0xffbdd000));
    EXPECT_EQ(va.offset_in_page(), 0x123u);
    EXPECT_FALSE(va.page_aligned());
    EXPECT_TRUE(va.page_down().page_aligned());
    EXPECT_EQ(VirtAddr(0xfffff000).offset_in_page(), 0u);
}

TEST(VirtAddr, ArithmeticAndComparisons) {
    VirtAddr va(0xc0000000);
    EXPECT_EQ(va + PAGE_SIZE, VirtAddr(0xc0001000));
    EXPECT_EQ(va - PAGE_SIZE, VirtAddr(0xbffff000));
    EXPECT_EQ(VirtAddr(0xc0003000) - va, 3 * PAGE_SIZE);
    va += 2 * PAGE_SIZE;
    EXPECT_EQ(va, VirtAddr(0xc0002000));
    EXPECT_TRUE(VirtAddr(0xc0000000) < va);
    EXPECT_TRUE(va <= VirtAddr(0xc0002000));
    EXPECT_TRUE(VirtAddr(0xffffffff) > va);
    EXPECT_TRUE(va != VirtAddr(0xc0002001));
    // 32 bits: the top of the address space wraps to 0.
    EXPECT_EQ(VirtAddr(0xfffff000) + PAGE_SIZE, VirtAddr(0));
}

TEST(AddrTypes, ConstexprAndSizes) {
    static_assert(Pfn(1).phys() == PhysAddr(PAGE_SIZE));
    static_assert(VirtAddr(0x1234).page_down() == VirtAddr(0x1000));
    static_assert(sizeof(VirtAddr) == 4 && sizeof(Pfn) == 4 && sizeof(PhysAddr) == 8);
    SUCCEED();
}
