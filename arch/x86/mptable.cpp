#include "arch/x86/mptable.h"

#include "lib/string.h"

namespace x86::mptable {
namespace {

struct [[gnu::packed]] FloatingPointer {
    char signature[4];   // "_MP_"
    u32 config_table;
    u8 length;           // in 16-byte units
    u8 revision;
    u8 checksum;
    u8 features[5];
};

struct [[gnu::packed]] ConfigHeader {
    char signature[4];   // "PCMP"
    u16 length;
    u8 revision;
    u8 checksum;
    char oem[8];
    char product[12];
    u32 oem_table;
    u16 oem_table_size;
    u16 entry_count;
    u32 lapic_address;
    u16 extended_length;
    u8 extended_checksum;
    u8 reserved;
};

constexpr u8 ENTRY_PROCESSOR = 0;
constexpr u8 CPU_ENABLED = 1, CPU_BSP = 2;

u32 scan(const acpi::PhysWindow& w, u32 start, u32 size) {
    auto* area = static_cast<const u8*>(w.map(start, size));
    if (!area)
        return 0;
    u32 found = 0;
    for (u32 off = 0; off + sizeof(FloatingPointer) <= size && !found; off += 16) {
        if (lib::memcmp(area + off, "_MP_", 4) == 0 &&
            acpi::checksum_ok(area + off, sizeof(FloatingPointer)))
            found = start + off;
    }
    w.unmap(const_cast<u8*>(area), size);
    return found;
}

} // namespace

bool cpus(const acpi::PhysWindow& w, acpi::CpuList* out) {
    u32 fp_phys = 0;
    if (auto* bda = static_cast<const u16*>(w.map(0x40e, 2))) {
        const u32 ebda = u32{*bda} << 4;
        w.unmap(const_cast<u16*>(bda), 2);
        if (ebda >= 0x80000 && ebda < 0xa0000)
            fp_phys = scan(w, ebda, 1024);
    }
    if (!fp_phys)
        fp_phys = scan(w, 0x9fc00, 1024);
    if (!fp_phys)
        fp_phys = scan(w, 0xf0000, 0x10000);
    if (!fp_phys)
        return false;
    FloatingPointer fp;
    auto* p = static_cast<const FloatingPointer*>(w.map(fp_phys, sizeof(fp)));
    if (!p)
        return false;
    fp = *p;
    w.unmap(const_cast<FloatingPointer*>(p), sizeof(fp));
    if (!fp.config_table)
        return false;   // a default configuration: not supported
    auto* head = static_cast<const ConfigHeader*>(w.map(fp.config_table, sizeof(ConfigHeader)));
    if (!head)
        return false;
    const u32 length = head->length;
    const bool sig_ok = lib::memcmp(head->signature, "PCMP", 4) == 0;
    w.unmap(const_cast<ConfigHeader*>(head), sizeof(ConfigHeader));
    if (!sig_ok || length < sizeof(ConfigHeader) || length > 0x10000)
        return false;
    auto* table = static_cast<const u8*>(w.map(fp.config_table, length));
    if (!table)
        return false;
    bool ok = acpi::checksum_ok(table, length);
    const u16 entries = reinterpret_cast<const ConfigHeader*>(table)->entry_count;
    u32 off = sizeof(ConfigHeader);
    for (u16 i = 0; ok && i < entries && off < length; ++i) {
        const u8 type = table[off];
        if (type == ENTRY_PROCESSOR) {
            if (off + 20 > length)
                break;
            const u8 id = table[off + 1];
            const u8 flags = table[off + 3];
            if (!(flags & CPU_ENABLED)) {
                ++out->disabled;
            } else if (out->count < acpi::CpuList::MAX) {
                // Keep the boot CPU first.
                if ((flags & CPU_BSP) && out->count > 0) {
                    out->apic_id[out->count++] = out->apic_id[0];
                    out->apic_id[0] = id;
                } else {
                    out->apic_id[out->count++] = id;
                }
            }
            off += 20;
        } else {
            off += 8;   // bus, I/O APIC, I/O and local interrupt entries
        }
    }
    w.unmap(const_cast<u8*>(table), length);
    if (ok)
        out->source = "MP table";
    return ok && out->count > 0;
}

} // namespace x86::mptable
