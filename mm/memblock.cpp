#include "mm/memblock.h"

#include "lib/bug.h"
#include "lib/printk.h"

namespace mm::memblock {
namespace {

Region usable_regions[MAX_REGIONS];
unsigned usable_count = 0;
Region reserved_regions[MAX_REGIONS];
unsigned reserved_count = 0;
bool is_retired = false;

// Keep a list sorted by base; adjacent usable regions are not merged so the
// printed map stays close to what the loader gave.
void insert(Region* list, unsigned& count, const Region& r) {
    if (count == MAX_REGIONS)
        panic("memblock: more than %u regions", MAX_REGIONS);
    unsigned i = count++;
    while (i > 0 && list[i - 1].base > r.base) {
        list[i] = list[i - 1];
        --i;
    }
    list[i] = r;
}

// The first reservation that ends after `at`, or null (list sorted by base,
// but a big early reservation may cover later ones, so scan them all).
const Region* reservation_covering(PhysAddr at) {
    for (unsigned i = 0; i < reserved_count; ++i) {
        const Region& r = reserved_regions[i];
        if (r.base <= at && at < r.end())
            return &r;
    }
    return nullptr;
}

PhysAddr next_reservation_start(PhysAddr at) {
    PhysAddr best(~0ull);
    for (unsigned i = 0; i < reserved_count; ++i)
        if (reserved_regions[i].base > at && reserved_regions[i].base < best)
            best = reserved_regions[i].base;
    return best;
}

bool overlaps_reservation(PhysAddr base, u64 size) {
    for (unsigned i = 0; i < reserved_count; ++i) {
        const Region& r = reserved_regions[i];
        if (base < r.end() && r.base < base + size)
            return true;
    }
    return false;
}

} // namespace

void add_usable(PhysAddr base, u64 size) {
    const PhysAddr start = base.page_up();
    const PhysAddr end = (base + size).page_down();
    if (end <= start)
        return;
    insert(usable_regions, usable_count, {start, end - start, "usable"});
}

void reserve(PhysAddr base, u64 size, const char* name) {
    if (size == 0)
        return;
    const PhysAddr start = base.page_down();
    const PhysAddr end = (base + size).page_up();
    // Grow a neighbouring reservation made for the same purpose.
    for (unsigned i = 0; i < reserved_count; ++i) {
        Region& r = reserved_regions[i];
        if (r.name != name)
            continue;
        if (r.end() == start) {
            r.size += end - start;
            return;
        }
        if (end == r.base && (i == 0 || reserved_regions[i - 1].base <= start)) {
            r.base = start;
            r.size += end - start;
            return;
        }
    }
    insert(reserved_regions, reserved_count, {start, end - start, name});
}

PhysAddr alloc(u64 size, u32 align, PhysAddr limit, const char* name) {
    BUG_ON(is_retired);
    size = PhysAddr(size).page_up().value();
    if (align < PAGE_SIZE)
        align = PAGE_SIZE;
    // Highest usable region first; inside it, slide down past reservations.
    for (unsigned i = usable_count; i-- > 0;) {
        const Region& u = usable_regions[i];
        u64 top = min(u.end().value(), limit.value());
        while (top >= u.base.value() + size) {
            const u64 candidate = (top - size) & ~u64{align - 1};
            if (candidate < u.base.value())
                break;
            const PhysAddr c(candidate);
            if (!overlaps_reservation(c, size)) {
                reserve(c, size, name);
                return c;
            }
            // Move below the lowest reservation that overlaps the candidate.
            u64 lowest = candidate + size;
            for (unsigned k = 0; k < reserved_count; ++k) {
                const Region& r = reserved_regions[k];
                if (c < r.end() && r.base < c + size && r.base.value() < lowest)
                    lowest = r.base.value();
            }
            top = lowest;
        }
    }
    panic("memblock: cannot allocate %llu bytes for %s below %#llx",
          static_cast<unsigned long long>(size), name,
          static_cast<unsigned long long>(limit.value()));
}

const Region* usable(unsigned* count) {
    *count = usable_count;
    return usable_regions;
}

const Region* reserved(unsigned* count) {
    *count = reserved_count;
    return reserved_regions;
}

bool next_free(Cursor& c, PfnRange& out) {
    while (c.usable_index < usable_count) {
        const Region& u = usable_regions[c.usable_index];
        if (c.position < u.base)
            c.position = u.base;
        if (c.position >= u.end()) {
            ++c.usable_index;
            continue;
        }
        if (const Region* r = reservation_covering(c.position)) {
            c.position = r->end();
            continue;
        }
        PhysAddr end = next_reservation_start(c.position);
        if (end > u.end())
            end = u.end();
        out = {Pfn::down(c.position), Pfn::down(end)};
        c.position = end;
        if (out.pages())
            return true;
    }
    return false;
}

u32 free_pages() {
    u32 n = 0;
    for_each_free_range([&](PfnRange r) { n += r.pages(); });
    return n;
}

void retire() { is_retired = true; }
bool retired() { return is_retired; }

void print() {
    for (unsigned i = 0; i < usable_count; ++i) {
        const Region& r = usable_regions[i];
        printk("memblock: usable   [0x%09llx-0x%09llx] %6llu KiB\n",
               static_cast<unsigned long long>(r.base.value()),
               static_cast<unsigned long long>(r.end().value() - 1),
               static_cast<unsigned long long>(r.size >> 10));
    }
    for (unsigned i = 0; i < reserved_count; ++i) {
        const Region& r = reserved_regions[i];
        printk("memblock: reserved [0x%09llx-0x%09llx] %6llu KiB %s\n",
               static_cast<unsigned long long>(r.base.value()),
               static_cast<unsigned long long>(r.end().value() - 1),
               static_cast<unsigned long long>(r.size >> 10), r.name);
    }
}

} // namespace mm::memblock
