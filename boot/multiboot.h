// What the boot loader handed over, copied out of its memory at the first
// opportunity: the memory map (64-bit entries), the command line, the loader's
// name, and the physical ranges of the loader's own structures (which later
// memory management must not hand out while they are still being read).
#pragma once

#include "lib/cmdline.h"
#include "lib/types.h"
#include "mm/init.h"

namespace boot {

constexpr u32 MULTIBOOT_BOOTLOADER_MAGIC = 0x2BADB002;

struct MemoryRange {
    u64 base;
    u64 length;
    u32 type;    // 1 usable, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS, 5 bad
};

struct PhysRange {
    u32 base;
    u32 length;
    const char* what;
};

struct BootInfo {
    static constexpr unsigned MAX_MMAP = 64;
    static constexpr unsigned MAX_LOADER_RANGES = 8;
    static constexpr unsigned MAX_NOTES = 4;

    bool magic_ok;
    u32 magic;
    u32 flags;
    u32 mem_lower_kb;
    u32 mem_upper_kb;

    bool has_cmdline;
    bool cmdline_truncated;
    char cmdline[cmdline::MAX_LINE + 1];

    char loader_name[64];

    MemoryRange mmap[MAX_MMAP];
    unsigned mmap_count;
    bool mmap_truncated;

    PhysRange loader_ranges[MAX_LOADER_RANGES];
    unsigned loader_range_count;

    // Problems found while copying, printed once the console is up.
    const char* notes[MAX_NOTES];
    unsigned note_count;
};

extern BootInfo boot_info;

// Copy everything out of the loader's memory. Runs before the console exists,
// so it only records problems in boot_info.notes.
void multiboot_copy(u32 magic, u32 info_phys);

// The memory map in mm's terms, for mm_init (valid as long as boot_info).
mm::MemoryMap memory_map();

void print_boot_info();

} // namespace boot
