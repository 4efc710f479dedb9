// P8: the kunmaps that can only BUG. They need a highmem page: the crash
// configuration boots with highmem=32M.
#include "lib/bug.h"
#include "mm/buddy.h"
#include "mm/pkmap.h"
#include "mm/pkmap_testing.h"
#include "tests/kernel/helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;

namespace {

Page* highmem_page() {
    Page* page = test_support::alloc_highmem_page();
    if (!page)
        BUG("test.no_highmem", "this crash test needs a highmem page (boot with highmem=32M)");
    // A fresh pool: the page may have been kmapped before it was freed.
    BUG_ON(!pkmap_test_reset());
    return page;
}

[[gnu::noinline]] void kunmap_once_too_often() {
    Page* page = highmem_page();
    kmap(page);
    kunmap(page);
    kunmap(page);   // the count would go from 1 (mapped, no holder) to 0
}

[[gnu::noinline]] void kunmap_a_page_never_kmapped() {
    kunmap(highmem_page());
}

} // namespace

KTEST_CRASH(pkmap_p8_kunmap_without_a_holder, .site = "pkmap.kunmap_unbalanced",
            .frames = "kunmap_once_too_often", .report = "unbalanced kunmap") {
    kunmap_once_too_often();
}

KTEST_CRASH(pkmap_p8_kunmap_of_a_page_never_kmapped, .site = "pkmap.kunmap_unmapped",
            .frames = "kunmap_a_page_never_kmapped", .report = "is in no kmap() slot") {
    kunmap_a_page_never_kmapped();
}
