// Kernel page faults: exception-table fixups, and reports that say what the
// faulting address is ("vmalloc guard page after ... of <owner>", "kmap_local
// slot 3 of CPU 1", ...).
#pragma once

#include "lib/types.h"

namespace mm {

void fault_init();

// A one-line description of a kernel-space address, ending in a stable tag
// in brackets ("[vmalloc-guard]") that crash tests can match.
void describe_address(u32 va, char* buf, size_t size);

} // namespace mm
