#include "boot/multiboot.h"

#include "arch/x86/layout.h"
#include "lib/printk.h"
#include "lib/string.h"

namespace boot {

BootInfo boot_info;

namespace {

using x86::EARLY_MAP_BYTES;
using x86::KERNEL_VMA;

struct [[gnu::packed]] MultibootInfo {
    u32 flags;
    u32 mem_lower, mem_upper;
    u32 boot_device;
    u32 cmdline;
    u32 mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
    u32 drives_length, drives_addr;
    u32 config_table;
    u32 boot_loader_name;
};

struct [[gnu::packed]] MultibootMmapEntry {
    u32 size;      // of the rest of the entry; the next entry is size + 4 bytes on
    u64 base;
    u64 length;
    u32 type;
};

constexpr u32 MBI_MEMORY = 1u << 0;
constexpr u32 MBI_CMDLINE = 1u << 2;
constexpr u32 MBI_MMAP = 1u << 6;
constexpr u32 MBI_LOADER_NAME = 1u << 9;

void note(const char* text) {
    if (boot_info.note_count < BootInfo::MAX_NOTES)
        boot_info.notes[boot_info.note_count++] = text;
}

void record_range(u32 base, u32 length, const char* what) {
    if (boot_info.loader_range_count < BootInfo::MAX_LOADER_RANGES)
        boot_info.loader_ranges[boot_info.loader_range_count++] = {base, length, what};
}

// The loader's data through the early map, or null if it is not inside it.
const void* early_ptr(u32 phys, u32 length) {
    if (phys >= EARLY_MAP_BYTES || length > EARLY_MAP_BYTES - phys)
        return nullptr;
    return reinterpret_cast<const void*>(phys + KERNEL_VMA);
}

// Copy a NUL-terminated string that must lie inside the early map.
bool copy_string(u32 phys, char* dst, size_t capacity, bool* truncated) {
    if (phys >= EARLY_MAP_BYTES)
        return false;
    const char* src = static_cast<const char*>(early_ptr(phys, 1));
    const size_t room = EARLY_MAP_BYTES - phys;
    const size_t len = lib::strnlen(src, room < capacity ? room : capacity);
    const size_t kept = len < capacity ? len : capacity - 1;
    lib::memcpy(dst, src, kept);
    dst[kept] = '\0';
    if (truncated)
        *truncated = len >= capacity;
    // Reserve the whole string as the loader left it, not just what was kept.
    const size_t full = lib::strnlen(src, room);
    record_range(phys, static_cast<u32>(full < room ? full + 1 : full), "command line");
    return true;
}

} // namespace

void multiboot_copy(u32 magic, u32 info_phys) {
    boot_info.magic = magic;
    boot_info.magic_ok = magic == MULTIBOOT_BOOTLOADER_MAGIC;
    if (!boot_info.magic_ok) {
        note("not loaded by a Multiboot loader (bad magic); no memory map or command line");
        return;
    }
    const auto* mbi = static_cast<const MultibootInfo*>(early_ptr(info_phys, sizeof(MultibootInfo)));
    if (!mbi) {
        note("Multiboot information lies outside the early map; ignored");
        return;
    }
    record_range(info_phys, sizeof(MultibootInfo), "multiboot info");
    boot_info.flags = mbi->flags;

    if (mbi->flags & MBI_MEMORY) {
        boot_info.mem_lower_kb = mbi->mem_lower;
        boot_info.mem_upper_kb = mbi->mem_upper;
    }

    if (mbi->flags & MBI_CMDLINE) {
        boot_info.has_cmdline = copy_string(mbi->cmdline, boot_info.cmdline,
                                            sizeof(boot_info.cmdline), &boot_info.cmdline_truncated);
        if (!boot_info.has_cmdline)
            note("command line lies outside the early map; ignored");
    }

    if (mbi->flags & MBI_LOADER_NAME) {
        if (!copy_string(mbi->boot_loader_name, boot_info.loader_name, sizeof(boot_info.loader_name),
                         nullptr))
            lib::strlcpy(boot_info.loader_name, "(unknown)", sizeof(boot_info.loader_name));
        else
            boot_info.loader_ranges[boot_info.loader_range_count - 1].what = "loader name";
    }

    if (mbi->flags & MBI_MMAP) {
        const auto* base = static_cast<const u8*>(early_ptr(mbi->mmap_addr, mbi->mmap_length));
        if (!base) {
            note("memory map lies outside the early map; ignored");
        } else {
            record_range(mbi->mmap_addr, mbi->mmap_length, "memory map");
            u32 offset = 0;
            while (offset + sizeof(MultibootMmapEntry) <= mbi->mmap_length) {
                const auto* e = reinterpret_cast<const MultibootMmapEntry*>(base + offset);
                if (e->size < sizeof(MultibootMmapEntry) - sizeof(u32)) {
                    note("malformed memory map entry; the rest of the map is ignored");
                    break;
                }
                if (boot_info.mmap_count == BootInfo::MAX_MMAP) {
                    boot_info.mmap_truncated = true;
                    note("memory map has more entries than himem keeps; the rest are ignored");
                    break;
                }
                boot_info.mmap[boot_info.mmap_count++] = {e->base, e->length, e->type};
                offset += e->size + sizeof(u32);
            }
        }
    } else {
        note("the loader passed no memory map");
    }
}

void print_boot_info() {
    const BootInfo& b = boot_info;
    printk("boot: loader \"%s\", magic %#x%s\n", b.loader_name[0] ? b.loader_name : "(unnamed)",
           b.magic, b.magic_ok ? "" : " (not Multiboot!)");
    printk("boot: command line \"%s\"%s\n", b.has_cmdline ? b.cmdline : "",
           b.cmdline_truncated ? " (truncated)" : "");
    for (unsigned i = 0; i < b.mmap_count; ++i) {
        const MemoryRange& r = b.mmap[i];
        static const char* const types[] = {"?", "usable", "reserved", "ACPI data", "ACPI NVS",
                                            "bad"};
        printk("boot: mem [0x%09llx-0x%09llx] %s\n", static_cast<unsigned long long>(r.base),
               static_cast<unsigned long long>(r.base + r.length - 1),
               r.type < array_size(types) ? types[r.type] : "unknown");
    }
    for (unsigned i = 0; i < b.note_count; ++i)
        printk("boot: note: %s\n", b.notes[i]);
}

mm::MemoryMap memory_map() {
    constexpr u32 MULTIBOOT_USABLE = 1;
    static mm::RamRange ram[BootInfo::MAX_MMAP];
    static mm::ReservedRange reserved[BootInfo::MAX_LOADER_RANGES];
    const BootInfo& b = boot_info;
    for (unsigned i = 0; i < b.mmap_count; ++i)
        ram[i] = {b.mmap[i].base, b.mmap[i].length, b.mmap[i].type == MULTIBOOT_USABLE};
    for (unsigned i = 0; i < b.loader_range_count; ++i)
        reserved[i] = {b.loader_ranges[i].base, b.loader_ranges[i].length, b.loader_ranges[i].what};
    return {ram, b.mmap_count, b.mem_upper_kb, reserved, b.loader_range_count};
}

} // namespace boot
