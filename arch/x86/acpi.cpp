#include "arch/x86/acpi.h"

#include "lib/string.h"

namespace x86::acpi {
namespace {

constexpr u32 BIOS_AREA = 0xe0000;
constexpr u32 BIOS_AREA_END = 0x100000;
constexpr u32 CHUNK = 0x10000;   // 16 pages: one early-ioremap mapping

bool scan(const PhysWindow& w, u64 start, u32 size, Rsdp* copy, u64* found) {
    for (u32 done = 0; done < size; done += CHUNK) {
        const u32 len = min(CHUNK, size - done);
        auto* area = static_cast<const char*>(w.map(start + done, len));
        if (!area)
            return false;
        for (u32 off = 0; off + sizeof(Rsdp) <= len; off += 16) {   // 16-byte aligned
            if (lib::memcmp(area + off, "RSD PTR ", 8) == 0 && checksum_ok(area + off, sizeof(Rsdp))) {
                lib::memcpy(copy, area + off, sizeof(Rsdp));
                *found = start + done + off;
                w.unmap(const_cast<char*>(area), len);
                return true;
            }
        }
        w.unmap(const_cast<char*>(area), len);
    }
    return false;
}

} // namespace

bool checksum_ok(const void* data, u32 length) {
    u8 sum = 0;
    for (u32 i = 0; i < length; ++i)
        sum = static_cast<u8>(sum + static_cast<const u8*>(data)[i]);
    return sum == 0;
}

u64 find_rsdp(const PhysWindow& w, Rsdp* copy) {
    u64 found = 0;
    // The EBDA's segment is stored at 0x40e; its first KiB may hold the RSDP.
    if (const auto* bda = static_cast<const u16*>(w.map(0x40e, 2))) {
        const u64 ebda = u64{*bda} << 4;
        w.unmap(const_cast<u16*>(bda), 2);
        if (ebda >= 0x80000 && ebda < 0xa0000 && scan(w, ebda, 1024, copy, &found))
            return found;
    }
    return scan(w, BIOS_AREA, BIOS_AREA_END - BIOS_AREA, copy, &found) ? found : 0;
}

bool find_table(const PhysWindow& w, const char signature[4], TableRef* out) {
    Rsdp rsdp;
    if (!find_rsdp(w, &rsdp))
        return false;
    auto* rsdt = static_cast<const TableHeader*>(w.map(rsdp.rsdt_address, sizeof(TableHeader)));
    if (!rsdt)
        return false;
    const u32 rsdt_len = rsdt->length;
    const bool rsdt_ok = lib::memcmp(rsdt->signature, "RSDT", 4) == 0;
    w.unmap(const_cast<TableHeader*>(rsdt), sizeof(TableHeader));
    if (!rsdt_ok || rsdt_len < sizeof(TableHeader) || rsdt_len > CHUNK)
        return false;
    auto* full = static_cast<const u8*>(w.map(rsdp.rsdt_address, rsdt_len));
    if (!full)
        return false;
    bool found = false;
    if (checksum_ok(full, rsdt_len)) {
        const u32 entries = (rsdt_len - sizeof(TableHeader)) / 4;
        for (u32 i = 0; i < entries && !found; ++i) {
            u32 table_phys;
            lib::memcpy(&table_phys, full + sizeof(TableHeader) + 4 * i, 4);
            auto* h = static_cast<const TableHeader*>(w.map(table_phys, sizeof(TableHeader)));
            if (!h)
                continue;
            if (lib::memcmp(h->signature, signature, 4) == 0) {
                *out = {table_phys, h->length};
                found = true;
            }
            w.unmap(const_cast<TableHeader*>(h), sizeof(TableHeader));
        }
    }
    w.unmap(const_cast<u8*>(full), rsdt_len);
    return found;
}

bool madt_cpus(const PhysWindow& w, CpuList* out) {
    TableRef madt;
    if (!find_table(w, "APIC", &madt) || madt.length < sizeof(TableHeader) + 8 || madt.length > CHUNK)
        return false;
    auto* table = static_cast<const u8*>(w.map(madt.phys, madt.length));
    if (!table)
        return false;
    const bool ok = checksum_ok(table, madt.length);
    // Entries follow the header, the local APIC address and the flags.
    for (u32 off = sizeof(TableHeader) + 8; ok && off + 2 <= madt.length;) {
        const u8 type = table[off];
        const u8 len = table[off + 1];
        if (len < 2 || off + len > madt.length)
            break;
        if (type == 0 && len >= 8) {   // processor local APIC
            u32 flags;
            lib::memcpy(&flags, table + off + 4, 4);
            if ((flags & 1) && out->count < CpuList::MAX)
                out->apic_id[out->count++] = table[off + 3];
            else
                ++out->disabled;
        }
        off += len;
    }
    w.unmap(const_cast<u8*>(table), madt.length);
    if (ok)
        out->source = "ACPI MADT";
    return ok && out->count > 0;
}

} // namespace x86::acpi
