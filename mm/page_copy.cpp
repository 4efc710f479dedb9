#include "mm/page_copy.h"

#include "lib/bug.h"
#include "lib/string.h"
#include "mm/local_mapping.h"

namespace mm {
namespace {

void check_range(u32 offset, u32 len) {
    if (offset > PAGE_SIZE || len > PAGE_SIZE - offset)
        BUG("highmem.copy_outside_page", "%u bytes at offset %u run past the end of the page", len,
            offset);
}

} // namespace

void memcpy_to_page(Page* page, u32 offset, const void* from, u32 len) {
    check_range(offset, len);
    LocalMapping map(page);
    lib::memcpy(map.bytes() + offset, from, len);
}

void memcpy_from_page(void* to, Page* page, u32 offset, u32 len) {
    check_range(offset, len);
    LocalMapping map(page);
    lib::memcpy(to, map.bytes() + offset, len);
}

void memset_page(Page* page, u32 offset, int value, u32 len) {
    check_range(offset, len);
    LocalMapping map(page);
    lib::memset(map.bytes() + offset, value, len);
}

void copy_highpage(Page* to, Page* from) {
    // Two scopes, unmapped in reverse order by construction.
    LocalMapping src(from);
    LocalMapping dst(to);
    lib::memcpy(dst.bytes(), src.bytes(), PAGE_SIZE);
}

} // namespace mm
