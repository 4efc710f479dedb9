// Test-only access to the pmem domain (mm/pmem.h): the checks a pmem= value
// goes through at boot, callable on any range afterwards.
#pragma once

#include "mm/pmem.h"

namespace mm {

// Why a range cannot be the domain, in the order they are checked.
enum class PmemCheck : u8 {
    Ok,
    Empty,           // SIZE is 0
    Misaligned,      // SIZE or ADDR is not a multiple of a page
    OutOfRam,        // not all usable RAM below max_pfn
    Lowmem,          // not all at or above the lowmem limit
    Overlapping,     // overlaps a memblock reservation
    SecondDomain,    // fine, but the boot has its domain already
};

// The word in the boot line ("misaligned", "out of RAM", ...).
const char* pmem_check_name(PmemCheck check);

// Checks `request` against the memory map, the split and memblock's
// reservations as they are now; the rest of the boot line, naming what is in
// the way, goes to `why`.
PmemCheck pmem_check(const cmdline::SizeAt& request, char* why, size_t why_size);

} // namespace mm
