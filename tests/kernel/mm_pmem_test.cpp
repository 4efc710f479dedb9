// The protected domain (mm/pmem.h): that it is what the command line asked
// for (a model recomputed here from pmem=, the split and memblock), that its
// pages are highmem the buddy allocator never holds, the key outside the
// PTE, explicit allocation and its misuse, and the checks a pmem= value goes
// through. Cases that need a domain skip without one; the rest also run
// where there is none and check that nothing is keyed.
#include "boot/params.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/memblock.h"
#include "mm/page.h"
#include "mm/pks.h"
#include "mm/pmem.h"
#include "mm/pmem_testing.h"
#include "mm/zone.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(mm_pmem);

#define KTEST_NEED_PMEM_DOMAIN()                                                  \
    do {                                                                          \
        if (!pmem_domain().pages)                                                 \
            KTEST_SKIP("needs a pmem domain (pmem=SIZE@ADDR in highmem)");        \
    } while (0)

namespace {

bool all_usable(PfnRange range) {
    unsigned n = 0;
    const memblock::Region* u = memblock::usable(&n);
    for (Pfn p = range.start; p < range.end; ++p) {
        bool found = false;
        for (unsigned i = 0; i < n && !found; ++i)
            found = u[i].base <= p.phys() && p.phys() < u[i].end();
        if (!found)
            return false;
    }
    return true;
}

bool reserved_for_something_else(PfnRange range) {
    unsigned n = 0;
    const memblock::Region* r = memblock::reserved(&n);
    for (unsigned i = 0; i < n; ++i)
        if (lib::strcmp(r[i].name, "pmem") != 0 && r[i].base < range.end.phys() &&
            range.start.phys() < r[i].end())
            return true;
    return false;
}

// The first pmem= value that is whole pages, all highmem below max_pfn, all
// usable RAM and clear of every other reservation; empty if none is.
PfnRange model_domain() {
    const u64 low = max_low_pfn.phys().value(), top = max_pfn.phys().value();
    for (unsigned i = 0; i < boot::params.pmem.count; ++i) {
        const cmdline::SizeAt& r = boot::params.pmem.items[i];
        if (r.size == 0 || r.size % PAGE_SIZE || r.addr % PAGE_SIZE)
            continue;
        if (r.addr < low || r.addr >= top || r.size > top - r.addr)
            continue;
        const PfnRange want{Pfn::down(PhysAddr(r.addr)), Pfn::down(PhysAddr(r.addr + r.size))};
        if (all_usable(want) && !reserved_for_something_else(want))
            return want;
    }
    return {};
}

// Pages of `range` inside a block on any buddy free list.
u32 pages_on_free_lists(PfnRange range) {
    u32 n = 0;
    for (Zone& zone : zones) {
        SpinlockIrqsaveGuard guard(zone.lock);
        for (unsigned order = 0; order < MAX_ORDER; ++order) {
            for (Page& head : zone.free_area[order].blocks) {
                const PfnRange block{page_to_pfn(&head), page_to_pfn(&head) + (1u << order)};
                const PfnRange both{max(block.start, range.start), min(block.end, range.end)};
                n += both.pages();
            }
        }
    }
    return n;
}

// A highmem page the buddy allocator was given (so usable RAM, reserved for
// nothing) outside the domain, or null.
Page* highmem_page_outside_domain() {
    for (Pfn p = max_low_pfn; p < max_pfn; ++p)
        if (!is_pmem_pfn(p) && pfn_to_page(p)->state != PageState::Reserved)
            return pfn_to_page(p);
    return nullptr;
}

PmemCheck check(u64 size, u64 addr, char (&why)[160]) { return pmem_check({size, addr}, why, sizeof(why)); }

} // namespace

KTEST(mm_pmem, domain_is_the_first_valid_pmem_value) {
    const PfnRange want = model_domain();
    EXPECT_EQ(pmem_domain().start.value(), want.pages() ? want.start.value() : 0u);
    EXPECT_EQ(pmem_domain().pages, want.pages());
    EXPECT_EQ(pmem_free_pages(), want.pages());   // no case leaves a page allocated
    if (want.pages())
        EXPECT_STREQ(pks_key_name(pmem_domain().key), "pmem");
    else
        EXPECT_NULL(pmem_alloc_page());
}

KTEST(mm_pmem, domain_pages_are_highmem_with_struct_pages) {
    KTEST_NEED_PMEM_DOMAIN();
    const PfnRange d = pmem_domain().range();
    EXPECT_GE(d.start.value(), max_low_pfn.value());
    EXPECT_LE(d.end.value(), max_pfn.value());
    u32 not_highmem = 0, wrong_zone = 0, mapped = 0;
    for (Pfn p = d.start; p < d.end; ++p) {
        const Page* page = pfn_to_page(p);
        not_highmem += !is_highmem(page);
        wrong_zone += page->zone != ZONE_HIGHMEM;
        mapped += page_address(page) != nullptr;
    }
    EXPECT_EQ(not_highmem, 0u);
    EXPECT_EQ(wrong_zone, 0u);
    EXPECT_EQ(mapped, 0u);
}

KTEST(mm_pmem, buddy_allocator_never_holds_a_domain_page) {
    KTEST_NEED_PMEM_DOMAIN();
    const PfnRange d = pmem_domain().range();
    EXPECT_EQ(pages_on_free_lists(d), 0u);
    u32 given_to_buddy = 0;
    for (Pfn p = d.start; p < d.end; ++p)
        given_to_buddy += pfn_to_page(p)->state != PageState::Reserved;
    EXPECT_EQ(given_to_buddy, 0u);
    // Nor does anything a highmem allocation can return.
    Page* page = alloc_page(Gfp::HighUser);
    ASSERT_NOT_NULL(page);
    EXPECT_FALSE(is_pmem_page(page));
    free_page(page);
}

KTEST(mm_pmem, key_is_the_domains_inside_and_default_outside) {
    const PmemDomain& d = pmem_domain();
    u32 misplaced = 0, wrong_inside = 0, keyed_outside = 0;
    for (Pfn p(0); p < max_pfn; ++p) {
        const bool inside = d.range().contains(p);
        misplaced += is_pmem_pfn(p) != inside;
        if (inside)
            wrong_inside += pks_frame_key(p) != d.key || pks_page_key(pfn_to_page(p)) != d.key;
        else
            keyed_outside += pks_frame_key(p) != 0 || pks_page_key(pfn_to_page(p)) != 0;
    }
    EXPECT_EQ(misplaced, 0u);
    EXPECT_EQ(wrong_inside, 0u);
    EXPECT_EQ(keyed_outside, 0u);
    // Past RAM too: the check is a range, not a table that ends.
    EXPECT_EQ(pks_frame_key(Pfn(~0u)), 0u);
    if (d.pages) {
        EXPECT_NE(d.key, 0u);
        EXPECT_LT(d.key, pks_nr_consumers());
    }
}

KTEST(mm_pmem, alloc_to_exhaustion_then_free_everything) {
    KTEST_NEED_PMEM_DOMAIN();
    const PmemDomain& d = pmem_domain();
    ASSERT_EQ(pmem_free_pages(), d.pages);
    u32 got = 0, outside = 0;
    while (Page* page = pmem_alloc_page()) {
        outside += !is_pmem_page(page);
        if (++got > d.pages)
            break;
    }
    EXPECT_EQ(got, d.pages);
    EXPECT_EQ(outside, 0u);
    EXPECT_EQ(pmem_free_pages(), 0u);
    EXPECT_NULL(pmem_alloc_page());
    // Every page was handed out exactly once: freeing each one now never
    // finds it free (a page given twice would leave another never given,
    // and its free would WARN pmem.double_free, failing the case).
    for (Pfn p = d.start; p < d.range().end; ++p)
        pmem_free_page(pfn_to_page(p));
    EXPECT_EQ(pmem_free_pages(), d.pages);
    Page* again = pmem_alloc_page();
    EXPECT_TRUE(again && is_pmem_page(again));
    pmem_free_page(again);
}

KTEST(mm_pmem, misuse_warns_and_changes_nothing) {
    KTEST_NEED_PMEM_DOMAIN();
    KTEST_EXPECT_WARN("pmem.double_free", 1);
    KTEST_EXPECT_WARN("pmem.bad_free", 3);
    KTEST_EXPECT_WARN("buddy.bad_free", 1);
    const u32 free_before = pmem_free_pages();
    Page* page = pmem_alloc_page();
    ASSERT_NOT_NULL(page);
    // A domain page is not the buddy allocator's to take back.
    const u32 buddy_before = nr_free_pages();
    free_page(page);
    EXPECT_EQ(nr_free_pages(), buddy_before);
    pmem_free_page(page);
    pmem_free_page(page);   // double free
    EXPECT_EQ(pmem_free_pages(), free_before);

    // Foreign pages: none, lowmem, and highmem just outside the domain.
    pmem_free_page(nullptr);
    Page* lowmem = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(lowmem);
    pmem_free_page(lowmem);
    free_page(lowmem);
    Page* highmem = highmem_page_outside_domain();
    ASSERT_NOT_NULL(highmem);
    pmem_free_page(highmem);
    EXPECT_EQ(pmem_free_pages(), free_before);
}

KTEST(mm_pmem, checks_refuse_each_bad_range) {
    KTEST_NEED_PMEM_DOMAIN();
    const u64 start = pmem_domain().start.phys().value();
    const u64 low = max_low_pfn.phys().value(), top = max_pfn.phys().value();
    char why[160];
    EXPECT_EQ(check(0, start, why), PmemCheck::Empty);
    EXPECT_EQ(check(6 * 1024, start, why), PmemCheck::Misaligned);
    EXPECT_NOT_NULL(lib::strstr(why, "SIZE"));
    EXPECT_EQ(check(PAGE_SIZE, start + 0x800, why), PmemCheck::Misaligned);
    EXPECT_NOT_NULL(lib::strstr(why, "ADDR"));
    EXPECT_EQ(check(PAGE_SIZE, top, why), PmemCheck::OutOfRam);
    EXPECT_EQ(check(2 * PAGE_SIZE, top - PAGE_SIZE, why), PmemCheck::OutOfRam);
    EXPECT_EQ(check(PAGE_SIZE, u64{8} << 30, why), PmemCheck::OutOfRam);
    EXPECT_EQ(check(~u64{0} & ~u64{PAGE_SIZE - 1}, start, why), PmemCheck::OutOfRam);
    // Across the lowmem limit (RAM on both sides whenever a domain exists).
    EXPECT_EQ(check(2 * PAGE_SIZE, low - PAGE_SIZE, why), PmemCheck::Lowmem);
    EXPECT_EQ(check(PAGE_SIZE, start + (pmem_domain().pages / 2) * PAGE_SIZE, why),
              PmemCheck::Overlapping);
    EXPECT_NOT_NULL(lib::strstr(why, "\"pmem\""));
    Page* elsewhere = highmem_page_outside_domain();
    ASSERT_NOT_NULL(elsewhere);
    EXPECT_EQ(check(PAGE_SIZE, page_to_phys(elsewhere).value(), why), PmemCheck::SecondDomain);
}
