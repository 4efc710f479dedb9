// The protected domain: the checks of pmem=, the reservation, and a
// page-granular allocator over the domain (a bitmap, next fit, one lock).
// The contract is in mm/pmem.h.
#include "mm/pmem.h"

#include "lib/bitmap.h"
#include "lib/bug.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "mm/memblock.h"
#include "mm/pks.h"
#include "mm/pmem_testing.h"

namespace mm {

namespace pmem_detail {
PmemDomain domain;
} // namespace pmem_detail

namespace {

using pmem_detail::domain;

// The domain's name in memblock's report, where an overlap names it too.
constexpr const char RESERVATION[] = "pmem";

struct Allocator {
    Spinlock lock;
    // Guarded by lock. Bit i: page i of the domain is allocated. The words
    // are a memblock allocation in lowmem, sized by the domain at boot.
    BitmapView used{nullptr, 0};
    u32 free = 0;
    u32 next = 0;   // where the next search starts: next fit spreads use over the domain
};
Allocator allocator;

// SIZE as one would write it on the command line: 16M, not 0x1000000.
struct SizeText {
    char text[24];
    explicit SizeText(u64 bytes) {
        static constexpr struct {
            unsigned shift;
            char suffix;
        } units[] = {{30, 'G'}, {20, 'M'}, {10, 'K'}};
        for (const auto& u : units) {
            if (bytes && bytes % (u64{1} << u.shift) == 0) {
                lib::format(text, sizeof(text), "%llu%c",
                            static_cast<unsigned long long>(bytes >> u.shift), u.suffix);
                return;
            }
        }
        lib::format(text, sizeof(text), "%llu", static_cast<unsigned long long>(bytes));
    }
};

// Usable RAM as mm_init finally uses it (the map after mem=, cut at max_pfn
// after highmem=), seen from `at`.
struct UsableAround {
    bool any_below = false;   // a usable region starts at or below `at`
    PhysAddr base, end;       // the last such region: the one holding `at`, if one does
    PhysAddr run_end;         // where RAM contiguous from `at` stops; `at` if none holds it
};

UsableAround usable_around(PhysAddr at) {
    unsigned n = 0;
    const memblock::Region* u = memblock::usable(&n);
    const PhysAddr top = max_pfn.phys();
    UsableAround around;
    for (unsigned i = 0; i < n && u[i].base <= at && u[i].base < top; ++i)   // sorted by base
        around = {true, u[i].base, min(u[i].end(), top), at};
    PhysAddr run_end = at;
    for (unsigned i = 0; i < n; ++i)
        if (u[i].base <= run_end && run_end < u[i].end())
            run_end = u[i].end();
    around.run_end = max(min(run_end, top), at);
    return around;
}

const memblock::Region* first_overlapping_reservation(PhysAddr start, PhysAddr end) {
    unsigned n = 0;
    const memblock::Region* r = memblock::reserved(&n);
    for (unsigned i = 0; i < n; ++i)
        if (r[i].base < end && start < r[i].end())
            return &r[i];
    return nullptr;
}

unsigned long long ull(PhysAddr a) { return a.value(); }

void create_domain(PhysAddr start, u64 size) {
    const u32 pages = static_cast<u32>(size >> PAGE_SHIFT);
    const unsigned key = pks_key_alloc("pmem", nullptr);
    if (!key || !pks_tag_frames({Pfn::down(start), Pfn::down(start) + pages}, key)) {
        printk("pmem: no protection key for the domain [%#llx-%#llx); no domain\n", ull(start),
               ull(start + size));
        return;
    }
    memblock::reserve(start, size, RESERVATION);
    const u64 bytes = BitmapView::words_for(pages) * sizeof(u32);
    const PhysAddr words = memblock::alloc(bytes, PAGE_SIZE, max_low_pfn.phys(), "pmem bitmap");
    allocator.used = BitmapView(static_cast<u32*>(phys_to_virt(words)), pages);
    allocator.used.fill(false);
    allocator.free = pages;
    domain = {Pfn::down(start), pages, static_cast<u8>(key)};
    printk("pmem: domain [%#llx-%#llx): %s, %u pages of highmem, key %u\n", ull(start),
           ull(start + size), SizeText(size).text, pages, key);
}

} // namespace

const char* pmem_check_name(PmemCheck check) {
    switch (check) {
    case PmemCheck::Ok: return "ok";
    case PmemCheck::Empty: return "empty";
    case PmemCheck::Misaligned: return "misaligned";
    case PmemCheck::OutOfRam: return "out of RAM";
    case PmemCheck::Lowmem: return "lowmem";
    case PmemCheck::Overlapping: return "overlapping";
    case PmemCheck::SecondDomain: return "one domain per boot";
    }
    return "?";
}

PmemCheck pmem_check(const cmdline::SizeAt& request, char* why, size_t why_size) {
    why[0] = '\0';
    const PhysAddr start(request.addr);
    const u64 size = request.size;
    if (size == 0) {
        lib::format(why, why_size, "SIZE is 0");
        return PmemCheck::Empty;
    }
    if (!PhysAddr(size).page_aligned() || !start.page_aligned()) {
        lib::format(why, why_size, "%s is not a multiple of %u KiB",
                    PhysAddr(size).page_aligned() ? "ADDR" : "SIZE", PAGE_SIZE >> 10);
        return PmemCheck::Misaligned;
    }
    // From here on [start, end) is whole pages; a size that would wrap past
    // 2^64 runs past any RAM, so clamp it rather than let the end wrap.
    const PhysAddr end = start + min(size, ~u64{0} - start.value());
    const UsableAround ram = usable_around(start);
    if (!ram.any_below) {
        lib::format(why, why_size, "[%#llx-%#llx) is not in usable RAM; there is none below it",
                    ull(start), ull(end));
        return PmemCheck::OutOfRam;
    }
    if (ram.run_end == start) {
        lib::format(why, why_size,
                    "[%#llx-%#llx) is not in usable RAM; the nearest below is [%#llx-%#llx)",
                    ull(start), ull(end), ull(ram.base), ull(ram.end));
        return PmemCheck::OutOfRam;
    }
    if (ram.run_end < end) {
        lib::format(why, why_size, "[%#llx-%#llx) runs past usable RAM [%#llx-%#llx)", ull(start),
                    ull(end), ull(ram.base), ull(ram.run_end));
        return PmemCheck::OutOfRam;
    }
    if (start < max_low_pfn.phys()) {
        lib::format(why, why_size, "[%#llx-%#llx) starts below the lowmem limit %#llx%s",
                    ull(start), ull(end), ull(max_low_pfn.phys()),
                    max_low_pfn == max_pfn ? " (this boot has no highmem)" : "");
        return PmemCheck::Lowmem;
    }
    if (const memblock::Region* r = first_overlapping_reservation(start, end)) {
        lib::format(why, why_size, "[%#llx-%#llx) overlaps the reservation \"%s\" [%#llx-%#llx)",
                    ull(start), ull(end), r->name, ull(r->base), ull(r->end()));
        return PmemCheck::Overlapping;
    }
    if (domain.pages) {
        lib::format(why, why_size, "[%#llx-%#llx) is this boot's domain",
                    ull(domain.start.phys()), ull(domain.range().end.phys()));
        return PmemCheck::SecondDomain;
    }
    return PmemCheck::Ok;
}

void pmem_init(const cmdline::SizeAtList& requested) {
    for (unsigned i = 0; i < requested.count; ++i) {
        const cmdline::SizeAt& r = requested.items[i];
        char why[160];
        const PmemCheck check = pmem_check(r, why, sizeof(why));
        if (check == PmemCheck::Ok)
            create_domain(PhysAddr(r.addr), r.size);
        else
            printk("pmem: %s@%#llx ignored (%s): %s\n", SizeText(r.size).text,
                   static_cast<unsigned long long>(r.addr), pmem_check_name(check), why);
    }
}

Page* pmem_alloc_page() {
    SpinlockIrqsaveGuard guard(allocator.lock);
    if (!allocator.free)
        return nullptr;
    size_t bit = allocator.used.find_first_clear(allocator.next);
    if (bit == BitmapView::NOT_FOUND)
        bit = allocator.used.find_first_clear(0);
    allocator.used.set(bit);
    allocator.free--;
    allocator.next = bit + 1 < domain.pages ? static_cast<u32>(bit + 1) : 0;
    return pfn_to_page(domain.start + static_cast<u32>(bit));
}

void pmem_free_page(Page* page) {
    if (WARN("pmem.bad_free", !page || !is_pmem_page(page),
             "pmem_free_page(%p): not a page of the pmem domain", page))
        return;
    const Pfn pfn = page_to_pfn(page);
    SpinlockIrqsaveGuard guard(allocator.lock);
    if (WARN("pmem.double_free", !allocator.used.test(pfn - domain.start),
             "pmem_free_page: pfn %#x is already free", pfn.value()))
        return;
    allocator.used.clear(pfn - domain.start);
    allocator.free++;
}

u32 pmem_free_pages() { return allocator.free; }

} // namespace mm
