// The boot-time memory allocator (Linux's memblock, reduced).
//
// It knows two lists of physical ranges: usable RAM (the Multiboot map after
// clipping and mem=, rounded inward to whole pages) and reservations (each
// with a name: the low 1 MiB, the kernel image, the loader's data, every boot
// allocation). Free memory is usable minus reserved. Allocation is top-down
// below a limit, page-granular, and itself a named reservation. Once the
// buddy allocator has taken the free ranges, memblock is retired and any
// further allocation is a BUG.
//
// Context: boot CPU only, before other CPUs and interrupts exist; no locking.
#pragma once

#include "mm/types.h"

namespace mm::memblock {

constexpr unsigned MAX_REGIONS = 128;

struct Region {
    PhysAddr base;
    u64 size;
    const char* name;   // reservations only
    PhysAddr end() const { return base + size; }
};

void add_usable(PhysAddr base, u64 size);
// Rounded outward to whole pages. Reservations may overlap.
void reserve(PhysAddr base, u64 size, const char* name);

// Top-down allocation of `size` bytes (rounded up to pages) aligned to
// `align` (a power of two, at least a page) ending at or below `limit`.
// Panics when nothing fits: boot cannot go on without it.
PhysAddr alloc(u64 size, u32 align, PhysAddr limit, const char* name);

const Region* usable(unsigned* count);
const Region* reserved(unsigned* count);

// Calls f(PfnRange) for every free run of whole pages, in address order.
template <typename F>
void for_each_free_range(F&& f);

// Total free pages (usable minus reserved).
u32 free_pages();

void retire();
bool retired();
void print();

// ---- implementation detail of for_each_free_range ----
struct Cursor {
    unsigned usable_index = 0;
    PhysAddr position;
};
bool next_free(Cursor& cursor, PfnRange& out);

template <typename F>
void for_each_free_range(F&& f) {
    Cursor c;
    PfnRange r;
    while (next_free(c, r))
        f(r);
}

} // namespace mm::memblock
