#include "mm/init.h"

#include "lib/new.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/vmalloc.h"
#include "mm/layout.h"
#include "mm/memblock.h"
#include "mm/page.h"
#include "mm/pgtable.h"
#include "mm/pmem.h"
#include "mm/zone.h"

extern "C" char __boot_start[];
extern "C" char __kernel_end[];

namespace mm {
namespace {

constexpr u64 LOW_MEMORY = 1024 * 1024;

// Usable RAM from the loader's map, clipped at MAX_PHYS (4 GiB) and at mem=.
void add_usable_ram(const MemoryMap& map, u64 mem_limit) {
    const u64 limit = mem_limit ? min(mem_limit, MAX_PHYS) : MAX_PHYS;
    u64 clipped = 0;
    for (unsigned i = 0; i < map.count; ++i) {
        const RamRange& r = map.ranges[i];
        if (!r.usable || r.length == 0)
            continue;
        const u64 start = r.base;
        const u64 end = r.base + r.length;
        if (end > MAX_PHYS)
            clipped += end - max(start, MAX_PHYS);
        if (start >= limit)
            continue;
        memblock::add_usable(PhysAddr(start), min(end, limit) - start);
    }
    if (map.count == 0 && map.mem_upper_kb) {
        printk("mm: no memory map; using the loader's upper-memory size\n");
        memblock::add_usable(PhysAddr(LOW_MEMORY), min(u64{map.mem_upper_kb} * 1024, limit - LOW_MEMORY));
    }
    memory_split.clipped_bytes = clipped;
    if (clipped)
        printk("mm: %llu MiB of RAM above %llu GiB clipped: %s paging cannot reach it\n",
               static_cast<unsigned long long>(clipped >> 20),
               static_cast<unsigned long long>(MAX_PHYS >> 30), x86::PAGING_MODE);
}

Pfn highest_usable_pfn() {
    unsigned n = 0;
    const memblock::Region* u = memblock::usable(&n);
    return n ? Pfn::down(u[n - 1].end()) : Pfn(0);
}

void reserve_boot_ranges(const MemoryMap& map) {
    memblock::reserve(PhysAddr(0), LOW_MEMORY, "low 1 MiB (BIOS, real mode)");
    const u32 image_start = reinterpret_cast<u32>(__boot_start);
    const u32 image_end = reinterpret_cast<u32>(__kernel_end) - PAGE_OFFSET;
    memblock::reserve(PhysAddr(image_start), image_end - image_start, "kernel image");
    for (unsigned i = 0; i < map.reserved_count; ++i)
        memblock::reserve(PhysAddr(map.reserved[i].base), map.reserved[i].length,
                          map.reserved[i].what);
}

void mem_map_init() {
    const u64 bytes = u64{max_pfn.value()} * sizeof(Page);
    const PhysAddr pa = memblock::alloc(bytes, PAGE_SIZE, max_low_pfn.phys(), "mem_map (struct page)");
    mem_map = static_cast<Page*>(phys_to_virt(pa));
    for (u32 i = 0; i < max_pfn.value(); ++i)
        new (&mem_map[i]) Page();
    printk("mm: mem_map: %u pages x %u bytes = %llu KiB at %#llx\n", max_pfn.value(),
           static_cast<unsigned>(sizeof(Page)), static_cast<unsigned long long>(bytes >> 10),
           static_cast<unsigned long long>(pa.value()));
}

} // namespace

void mm_init(const MmParams& params) {
    u64 mem_limit = params.mem_limit;
    if (mem_limit && mem_limit < MIN_MEM_PARAM) {
        printk("mm: mem=%llu KiB is below the %llu MiB himem needs, ignored\n",
               static_cast<unsigned long long>(mem_limit >> 10),
               static_cast<unsigned long long>(MIN_MEM_PARAM >> 20));
        mem_limit = 0;
    }
    memory_split.mem_limit = mem_limit;
    add_usable_ram(params.map, mem_limit);
    max_pfn = highest_usable_pfn();
    memory_split.ram_top_below_4g = max_pfn.phys().value();
    split_lowmem_highmem(params.highmem_bytes);

    reserve_boot_ranges(params.map);
    pgtable_init();
    mem_map_init();
    zones_init();
    // Checked against the final split, reserved before the buddy allocator
    // takes what is free.
    if (params.pmem)
        pmem_init(*params.pmem);
    memblock::print();

    // A highmem= cap may have lowered max_pfn below some usable RAM.
    memblock::for_each_free_range([](PfnRange r) {
        r.end = min(r.end, max_pfn);
        if (r.start < r.end)
            buddy_add_free_range(r);
    });
    memblock::retire();
    memory_split.boot_free_pages = nr_free_pages();
    print_zone_stats();
    printk("mm: %u pages (%u MiB) free at boot\n", memory_split.boot_free_pages,
           memory_split.boot_free_pages >> (20 - PAGE_SHIFT));
    vmalloc_init();
    pgtable_remove_identity_map();
}

} // namespace mm
