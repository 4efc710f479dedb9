#include "lib/ksym.h"

#include "lib/string.h"

namespace ksym {
namespace {

const Table* table = nullptr;
size_t table_bytes = 0;

const Entry* entries() { return reinterpret_cast<const Entry*>(table + 1); }
const char* names() { return reinterpret_cast<const char*>(entries() + table->count); }

} // namespace

void set_table(const Table* t, size_t bytes) {
    table = nullptr;
    if (!t || bytes < sizeof(Table) || t->magic != TABLE_MAGIC)
        return;
    if (t->count > (bytes - sizeof(Table)) / sizeof(Entry))
        return;
    table_bytes = bytes;
    table = t;
}

const char* lookup(u32 address, u32* offset, u32* size) {
    if (!table || table->count == 0)
        return nullptr;
    // Last entry whose address is <= the one asked for.
    size_t lo = 0, hi = table->count;
    while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        if (entries()[mid].address <= address)
            lo = mid;
        else
            hi = mid;
    }
    const Entry& e = entries()[lo];
    if (address < e.address || address - e.address >= (e.size ? e.size : 1))
        return nullptr;
    const size_t names_bytes = table_bytes - (names() - reinterpret_cast<const char*>(table));
    if (e.name_offset >= names_bytes)
        return nullptr;
    if (offset)
        *offset = address - e.address;
    if (size)
        *size = e.size;
    return names() + e.name_offset;
}

u32 address_of(const char* name) {
    if (!table)
        return 0;
    for (u32 i = 0; i < table->count; ++i) {
        if (lib::strcmp(names() + entries()[i].name_offset, name) == 0)
            return entries()[i].address;
    }
    return 0;
}

} // namespace ksym
