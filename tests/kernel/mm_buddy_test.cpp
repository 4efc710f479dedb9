// The buddy allocator: stress to exhaustion with a fixed seed and data
// patterns, zone placement by GFP flags, merging, and the misuse WARNs.
#include "lib/random.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/local_mapping.h"
#include "mm/page.h"
#include "mm/zone.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(mm_buddy);

namespace {

struct FreeShape {
    u32 nr_free[NR_ZONES][MAX_ORDER];
    u32 free_pages[NR_ZONES];

    static FreeShape now() {
        FreeShape s;
        for (unsigned z = 0; z < NR_ZONES; ++z) {
            s.free_pages[z] = zones[z].free_pages;
            for (unsigned o = 0; o < MAX_ORDER; ++o)
                s.nr_free[z][o] = zones[z].free_area[o].nr_free;
        }
        return s;
    }
    bool operator==(const FreeShape& o) const { return lib::memcmp(this, &o, sizeof(o)) == 0; }
};

u32 pattern(Pfn pfn, u32 word) { return (pfn.value() * 0x9e3779b1u) ^ (word * 0x85ebca6bu) ^ 0x5a5a5a5a; }

// Lowmem through the direct map, highmem through a kmap_local slot.
template <typename F>
void with_page(Page* page, F&& f) {
    LocalMapping map(page);
    f(map.as<u32>());
}

// Which pages carry a pattern: all of them up to 4 GiB of free RAM; beyond
// (PAE), about 512 MiB of them: one 2 MiB chunk in `sample_stride` (a power
// of two), chosen by a hash of the chunk's number. Each guest page touched
// first costs the host memory of its own, and the host backs guest RAM with
// 2 MiB pages where it can: a page touched here and there would make it
// zero all 16 GiB. A chunk holds blocks of every order and alignment.
constexpr u32 TOUCH_ALL_UP_TO = 1u << 20;
constexpr u32 TOUCH_WHEN_SAMPLING = 1u << 17;
u32 sample_stride = 1;
u32 sample_bits = 0;   // log2(sample_stride)

void choose_sampling(u32 free_pages) {
    sample_stride = 1;
    sample_bits = 0;
    if (free_pages <= TOUCH_ALL_UP_TO)
        return;
    while (free_pages / sample_stride > TOUCH_WHEN_SAMPLING) {
        sample_stride <<= 1;
        ++sample_bits;
    }
}

// The top bits of a multiplicative hash of the chunk (its low bits would
// only repeat the chunk number's own).
bool sampled(Pfn pfn) {
    const u32 chunk = pfn.value() >> 9;
    return sample_bits == 0 || (chunk * 0x9e3779b1u) >> (32 - sample_bits) == 0;
}

// Every sampled page carries a pattern tied to its pfn.
void fill(Page* block, unsigned order) {
    for (u32 i = 0; i < (1u << order); ++i) {
        const Pfn pfn = page_to_pfn(block + i);
        if (!sampled(pfn))
            continue;
        with_page(block + i, [&](u32* words) {
            for (u32 w = 0; w < PAGE_SIZE / 4; ++w)
                words[w] = pattern(pfn, w);
        });
    }
}

u32 mismatches(Page* block, unsigned order) {
    u32 bad = 0;
    for (u32 i = 0; i < (1u << order); ++i) {
        const Pfn pfn = page_to_pfn(block + i);
        if (!sampled(pfn))
            continue;
        with_page(block + i, [&](u32* words) {
            for (u32 w = 0; w < PAGE_SIZE / 4; ++w)
                bad += words[w] != pattern(pfn, w);
        });
    }
    return bad;
}

bool has_block_of_order(ZoneId zone, unsigned order) {
    for (unsigned o = order; o < MAX_ORDER; ++o)
        if (zones[zone].free_area[o].nr_free)
            return true;
    return false;
}

} // namespace

KTEST(mm_buddy, stress_to_exhaustion_with_patterns) {
    const FreeShape before = FreeShape::now();
    choose_sampling(nr_free_pages());
    Xorshift32 rng(0x5eed1234);
    // Allocated blocks are chained through their head's free-list node, which
    // the allocator does not use while a block is allocated.
    List<Page, &Page::list> held;
    u32 blocks = 0, pages = 0, highmem_blocks = 0, wrong_zone = 0, not_lowmem = 0;
    for (;;) {
        Gfp gfp = rng.below(2) ? Gfp::HighUser : Gfp::Kernel;
        unsigned order = rng.below(MAX_ORDER);
        bool highmem_available = has_block_of_order(ZONE_HIGHMEM, order);
        Page* block = alloc_pages(gfp, order);
        while (!block && order > 0) {
            highmem_available = has_block_of_order(ZONE_HIGHMEM, --order);
            block = alloc_pages(gfp, order);
        }
        if (!block && gfp == Gfp::Kernel) {
            // Lowmem is gone: finish off highmem single pages.
            gfp = Gfp::HighUser;
            highmem_available = has_block_of_order(ZONE_HIGHMEM, 0);
            block = alloc_pages(gfp, order = 0);
        }
        if (!block)
            break;   // exhausted in every zone
        if (gfp == Gfp::HighUser && highmem_available && !is_highmem(block))
            ++wrong_zone;
        if (gfp == Gfp::Kernel && is_highmem(block))
            ++not_lowmem;
        highmem_blocks += is_highmem(block);
        fill(block, order);
        held.push_back(*block);
        ++blocks;
        pages += 1u << order;
    }
    EXPECT_EQ(nr_free_pages(), 0u);
    EXPECT_EQ(pages, before.free_pages[0] + before.free_pages[1] + before.free_pages[2]);
    EXPECT_EQ(wrong_zone, 0u);
    EXPECT_EQ(not_lowmem, 0u);
    if (before.free_pages[ZONE_HIGHMEM])
        EXPECT_GT(highmem_blocks, 0u);

    u32 bad = 0;
    while (Page* block = held.pop_front()) {
        const unsigned order = block->order;
        bad += mismatches(block, order);
        free_pages(block, order);
    }
    EXPECT_EQ(bad, 0u);
    ktest_ctx.diag("%u blocks, %u pages, %u in highmem; patterns in 1 of %u 2 MiB chunks", blocks, pages,
                   highmem_blocks, sample_stride);
    // Every page is back and merged into the same blocks as before.
    EXPECT_TRUE(FreeShape::now() == before);
}

KTEST(mm_buddy, gfp_flags_choose_zones) {
    Page* k = alloc_page(Gfp::Kernel);
    ASSERT_NOT_NULL(k);
    EXPECT_FALSE(is_highmem(k));
    EXPECT_NOT_NULL(page_address(k));
    Page* d = alloc_page(Gfp::Dma);
    ASSERT_NOT_NULL(d);
    EXPECT_EQ(d->zone, ZONE_DMA);
    const bool highmem_free = zones[ZONE_HIGHMEM].free_pages > 0;
    Page* h = alloc_page(Gfp::HighUser);
    ASSERT_NOT_NULL(h);
    if (highmem_free) {
        EXPECT_TRUE(is_highmem(h));
        EXPECT_NULL(page_address(h));   // no permanent mapping
    } else {
        EXPECT_FALSE(is_highmem(h));    // fell back to lowmem
    }
    free_page(h);
    free_page(d);
    free_page(k);
}

// A block from a range: every order, at a range that starts and ends inside
// larger free blocks (so they must be carved), and nothing when the range
// holds no free block of that order. All of it back, merged, afterwards.
KTEST(mm_buddy, a_block_from_a_range_is_inside_it) {
    const FreeShape before = FreeShape::now();
    const PfnRange normal = zones[ZONE_NORMAL].span;
    // An odd start 1.5 blocks of order 10 into the zone, 3 such blocks long.
    const PfnRange where{normal.start + 1536 + 3, normal.start + 1536 + 3 + 3 * 1024};
    ASSERT_LE(where.end, normal.end);
    Page* got[MAX_ORDER] = {};
    for (unsigned order = 0; order < MAX_ORDER; ++order) {
        got[order] = alloc_pages_in(Gfp::Kernel, order, where);
        if (!got[order])
            continue;   // what was free there may already be taken
        const Pfn pfn = page_to_pfn(got[order]);
        EXPECT_GE(pfn, where.start);
        EXPECT_LE(pfn + (1u << order), where.end);
        EXPECT_EQ(pfn.value() & ((1u << order) - 1), 0u);
        EXPECT_EQ(got[order]->order, order);
    }
    EXPECT_NOT_NULL(got[0]);
    EXPECT_NULL(alloc_pages_in(Gfp::Kernel, 0, PfnRange{normal.end, normal.end + 16}));
    for (unsigned order = 0; order < MAX_ORDER; ++order)
        if (got[order])
            free_pages(got[order], order);
    EXPECT_TRUE(FreeShape::now() == before);
}

KTEST(mm_buddy, splitting_and_merging_restore_blocks) {
    const FreeShape before = FreeShape::now();
    Page* pages[8];
    for (Page*& p : pages) {
        p = alloc_page(Gfp::Kernel);
        ASSERT_NOT_NULL(p);
    }
    EXPECT_TRUE(!(FreeShape::now() == before));
    for (Page* p : pages)
        free_page(p);
    EXPECT_TRUE(FreeShape::now() == before);
}

KTEST(mm_buddy, double_free_warns_and_changes_nothing) {
    KTEST_EXPECT_WARN("buddy.double_free", 1);
    Page* p = alloc_pages(Gfp::Kernel, 2);
    ASSERT_NOT_NULL(p);
    free_pages(p, 2);
    const FreeShape after_free = FreeShape::now();
    free_pages(p, 2);
    EXPECT_TRUE(FreeShape::now() == after_free);
}

KTEST(mm_buddy, bad_frees_warn_and_change_nothing) {
    KTEST_EXPECT_WARN("buddy.bad_free", 4);
    const FreeShape before = FreeShape::now();
    free_page(virt_to_page(&zones));   // kernel image: never allocated
    Page* p = alloc_pages(Gfp::Kernel, 1);
    ASSERT_NOT_NULL(p);
    const FreeShape allocated = FreeShape::now();
    free_page(p + 1);                  // a tail page
    free_pages(p, 0);                  // the wrong order
    free_pages(nullptr, 0);
    EXPECT_TRUE(FreeShape::now() == allocated);
    free_pages(p, 1);
    EXPECT_TRUE(FreeShape::now() == before);
}
