#include "mm/init.h"

#include "arch/x86/cpuid.h"
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

// The end of the physical memory the kernel can map: what an entry can hold
// (MAX_PHYS: 4 GiB with 2-level paging, 64 GiB with PAE), and no more than
// the CPU's physical address width, above which an entry's frame bits are
// reserved and every walk through it faults.
u64 physical_reach() {
    const u64 cpu_limit = u64{1} << x86::cpu_features().phys_bits;
    return min(cpu_limit, MAX_PHYS);
}

// Usable RAM from the loader's map, clipped at physical_reach() and at mem=.
void add_usable_ram(const MemoryMap& map, u64 mem_limit) {
    const u64 reach = physical_reach();
    const u64 limit = mem_limit ? min(mem_limit, reach) : reach;
    u64 clipped = 0;
    for (unsigned i = 0; i < map.count; ++i) {
        const RamRange& r = map.ranges[i];
        if (!r.usable || r.length == 0)
            continue;
        const u64 start = r.base;
        const u64 end = r.base + r.length;
        if (end > reach)
            clipped += end - max(start, reach);
        if (start >= limit)
            continue;
        memblock::add_usable(PhysAddr(start), min(end, limit) - start);
    }
    if (map.count == 0 && map.mem_upper_kb) {
        printk("mm: no memory map; using the loader's upper-memory size\n");
        memblock::add_usable(PhysAddr(LOW_MEMORY), min(u64{map.mem_upper_kb} * 1024, limit - LOW_MEMORY));
    }
    memory_split.clipped_bytes = clipped;
    if (!clipped)
        return;
    if (reach < MAX_PHYS)
        printk("mm: %llu MiB of RAM above %llu GiB clipped: this CPU's physical addresses have "
               "%u bits (%s)\n", static_cast<unsigned long long>(clipped >> 20),
               static_cast<unsigned long long>(reach >> 30), x86::cpu_features().phys_bits,
               x86::cpu_features().pse36 ? "CPUID 0x80000008" : "no PSE36, no CPUID 0x80000008");
    else
        printk("mm: %llu MiB of RAM above %llu GiB clipped: %s paging cannot reach it\n",
               static_cast<unsigned long long>(clipped >> 20),
               static_cast<unsigned long long>(reach >> 30), x86::PAGING_MODE);
}

// Drop the RAM whose struct pages would not fit in lowmem's budget.
void fit_mem_map_in_lowmem() {
    const Pfn reach = mem_map_reach(max_pfn, max_low_pfn);
    if (reach == max_pfn)
        return;
    printk("mm: %u MiB of RAM would need %llu MiB of struct page, more than half of the %u MiB "
           "of lowmem: using RAM below %#llx only (%u MiB dropped)\n",
           max_pfn.value() >> (20 - PAGE_SHIFT),
           static_cast<unsigned long long>((u64{max_pfn.value()} * sizeof(Page)) >> 20),
           max_low_pfn.value() >> (20 - PAGE_SHIFT),
           static_cast<unsigned long long>(reach.phys().value()),
           (max_pfn - reach) >> (20 - PAGE_SHIFT));
    memory_split.mem_map_dropped_bytes = u64{max_pfn - reach} << PAGE_SHIFT;
    max_pfn = reach;
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

Pfn mem_map_reach(Pfn ram_end, Pfn lowmem_end) {
    const u64 budget = lowmem_end.phys().value() / 2;
    const u64 frames = budget / sizeof(Page);
    if (u64{ram_end.value()} <= frames)
        return ram_end;
    return max(lowmem_end, Pfn(static_cast<u32>(frames)));
}

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
    memory_split.ram_top = max_pfn.phys().value();
    split_lowmem_highmem(params.highmem_bytes);
    fit_mem_map_in_lowmem();

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
