// The page helpers and the scoped mapping type.
#include "arch/x86/nofault.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/local_mapping.h"
#include "mm/page_copy.h"
#include "tests/ktest/ktest.h"
#include "tests/kernel/helpers.h"

using namespace mm;

KTEST_SUITE(kmap_helpers);

static_assert(!__is_constructible(LocalMapping, const LocalMapping&), "no copies");
static_assert(!__is_constructible(LocalMapping, LocalMapping&&), "no moves");
static_assert(!__is_assignable(LocalMapping&, const LocalMapping&), "no copy assignment");

namespace {
// Highmem when there is some, so the helpers really go through slots.
Page* any_page() { return test_support::alloc_highuser_page(); }
// Whether kmap_local gives this page a slot (otherwise its direct-map address).
int takes_slot(const Page* p) { return is_highmem(p) || KMAP_FORCE_MAP ? 1 : 0; }
} // namespace

KTEST(kmap_helpers, memcpy_to_and_from_page_at_an_offset) {
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    memzero_page(page, 0, PAGE_SIZE);
    const char text[] = "himem: kmap_local for every page";
    memcpy_to_page(page, 4000, text, sizeof(text) - 1);
    char back[40] = {};
    memcpy_from_page(back, page, 4000, sizeof(text) - 1);
    EXPECT_EQ(lib::memcmp(back, text, sizeof(text) - 1), 0);
    u8 edge[2];
    memcpy_from_page(edge, page, 3999, 2);
    EXPECT_EQ(edge[0], 0u);
    EXPECT_EQ(edge[1], static_cast<u8>('h'));
    EXPECT_EQ(kmap_local_depth(), 0);
    free_page(page);
}

KTEST(kmap_helpers, memset_memzero_and_copy_highpage) {
    Page* a = any_page();
    Page* b = any_page();
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    memset_page(a, 0, 0x5c, PAGE_SIZE);
    memzero_page(a, 100, 10);
    copy_highpage(b, a);
    LocalMapping view(b);
    u32 bad = 0;
    for (u32 i = 0; i < PAGE_SIZE; ++i)
        bad += view.bytes()[i] != ((i >= 100 && i < 110) ? 0 : 0x5c);
    EXPECT_EQ(bad, 0u);
    free_page(a);
    free_page(b);
}

KTEST(kmap_helpers, scoped_mappings_nest_in_lifo_order) {
    Page* a = any_page();
    Page* b = any_page();
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    void* escaped = nullptr;
    {
        LocalMapping outer(a);
        {
            LocalMapping inner(b);
            *inner.as<u32>() = 2;
            EXPECT_EQ(kmap_local_depth(), takes_slot(a) + takes_slot(b));
        }
        *outer.as<u32>() = 1;
        escaped = outer.get();
    }
    EXPECT_EQ(kmap_local_depth(), 0);
    // Keeping the pointer past the scope is what C++ cannot stop; the slot
    // was unmapped and flushed, so using it faults (for a slot mapping).
    if (is_kmap_local_address(reinterpret_cast<u32>(escaped))) {
        u32 v;
        EXPECT_FALSE(x86::nofault_read32(escaped, &v).ok);
    }
    free_page(a);
    free_page(b);
}
