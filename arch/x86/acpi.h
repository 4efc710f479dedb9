// ACPI table discovery: the RSDP (in the EBDA or the BIOS area below 1 MiB),
// then the RSDT and the tables it lists, each checked by signature and
// checksum.
//
// Firmware tables may lie anywhere, above lowmem too, so they are read
// through a physical window the caller provides (boot: early ioremap). arch/
// cannot call mm/ itself.
#pragma once

#include "lib/types.h"

namespace x86::acpi {

struct PhysWindow {
    void* (*map)(u64 phys, u32 size);   // null on failure
    void (*unmap)(void* addr, u32 size);
};

struct [[gnu::packed]] Rsdp {
    char signature[8];   // "RSD PTR "
    u8 checksum;
    char oem_id[6];
    u8 revision;
    u32 rsdt_address;
};

struct [[gnu::packed]] TableHeader {
    char signature[4];
    u32 length;
    u8 revision;
    u8 checksum;
    char oem_id[6];
    char oem_table_id[8];
    u32 oem_revision;
    u32 creator_id;
    u32 creator_revision;
};

struct TableRef {
    u64 phys;
    u32 length;
};

bool checksum_ok(const void* data, u32 length);

// Find the RSDP; returns its physical address, or 0.
u64 find_rsdp(const PhysWindow& window, Rsdp* copy);

// Find the table with this signature through the RSDT; false if absent.
bool find_table(const PhysWindow& window, const char signature[4], TableRef* out);

// The CPUs a firmware table lists, in table order (the boot CPU first when
// the table says which one it is).
struct CpuList {
    static constexpr unsigned MAX = 64;
    u32 apic_id[MAX];
    unsigned count = 0;
    unsigned disabled = 0;     // listed but not usable
    const char* source = "none";
};

// CPUs from the MADT's processor-local-APIC entries; false without a MADT.
bool madt_cpus(const PhysWindow& window, CpuList* out);

} // namespace x86::acpi
