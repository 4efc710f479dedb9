// The kernel's own symbol table, for backtraces that name functions.
//
// The link embeds a table (section .ksymtab) of function start addresses,
// sizes and names, sorted by address. Lookups are a binary search. Before the
// table is populated, or for an address outside every function, lookup
// returns null.
#pragma once

#include "lib/types.h"

namespace ksym {

struct Entry {
    u32 address;
    u32 size;
    u32 name_offset;   // into the string area that follows the entries
};

struct Table {
    u32 magic;         // TABLE_MAGIC
    u32 count;
    // Entry entries[count]; then NUL-terminated names.
};

constexpr u32 TABLE_MAGIC = 0x4b53594d;   // "KSYM"

// Point the lookup at a table (the kernel does this with its embedded one;
// host tests with their own). A null or malformed table disables lookups.
void set_table(const Table* table, size_t bytes);

const char* lookup(u32 address, u32* offset, u32* size);

// Address of a symbol by exact name, or 0.
u32 address_of(const char* name);

} // namespace ksym
