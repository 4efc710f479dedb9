#include "mm/zone.h"

#include "lib/printk.h"
#include "mm/layout.h"

namespace mm {

Zone zones[NR_ZONES] = {{"DMA", {}}, {"Normal", {}}, {"HighMem", {}}};
MemorySplit memory_split;

namespace {
constexpr u32 MIB_PAGES = (1024 * 1024) / PAGE_SIZE;
u32 mib(u32 pages) { return pages / MIB_PAGES; }
} // namespace

void split_lowmem_highmem(u64 highmem_bytes) {
    const u32 highmem_pages = static_cast<u32>(min<u64>(highmem_bytes >> PAGE_SHIFT, ~0u));
    memory_split.highmem_param = highmem_bytes;
    memory_split.highmem_param_used = false;

    if (max_pfn.value() <= MAXMEM_PFN) {
        // Everything fits below L; highmem= may still force the top into HIGHMEM.
        max_low_pfn = max_pfn;
        if (highmem_bytes) {
            if (highmem_pages >= max_pfn.value()) {
                printk("mm: highmem=%u MiB is larger than RAM (%u MiB), ignored\n",
                       mib(highmem_pages), mib(max_pfn.value()));
            } else if (max_pfn.value() - highmem_pages < MIN_LOWMEM_WITH_HIGHMEM_PARAM / PAGE_SIZE) {
                printk("mm: highmem=%u MiB would leave less than %u MiB of lowmem, ignored\n",
                       mib(highmem_pages), MIN_LOWMEM_WITH_HIGHMEM_PARAM >> 20);
            } else {
                max_low_pfn = max_pfn - highmem_pages;
                memory_split.highmem_param_used = true;
            }
        }
    } else {
        max_low_pfn = Pfn(MAXMEM_PFN);
        if (highmem_bytes) {
            const u32 available = max_pfn - max_low_pfn;
            if (highmem_pages > available) {
                printk("mm: only %u MiB of highmem available; highmem=%u MiB ignored\n",
                       mib(available), mib(highmem_pages));
            } else {
                max_pfn = max_low_pfn + highmem_pages;
                memory_split.highmem_param_used = true;
                printk("mm: highmem limited to %u MiB by highmem=\n", mib(highmem_pages));
            }
        }
    }
    printk("mm: lowmem limit L = %#x (%u MiB + %u KiB); lowmem ends at pfn %#x, RAM at pfn %#x\n",
           MAXMEM, MAXMEM >> 20, (MAXMEM >> 10) & 1023, max_low_pfn.value(), max_pfn.value());
}

void zones_init() {
    const Pfn dma_end = Pfn(min<u32>(DMA_LIMIT >> PAGE_SHIFT, max_low_pfn.value()));
    zones[ZONE_DMA].span = {Pfn(0), dma_end};
    zones[ZONE_NORMAL].span = {dma_end, max_low_pfn};
    zones[ZONE_HIGHMEM].span = {max_low_pfn, max_pfn};
    for (u8 z = 0; z < NR_ZONES; ++z)
        for (Pfn p = zones[z].span.start; p < zones[z].span.end; ++p)
            pfn_to_page(p)->zone = z;
}

void print_zone_stats() {
    for (const Zone& z : zones) {
        printk("mm: zone %-7s pfn [0x%05x-0x%05x) %6u MiB present %7u pages free %7u pages\n",
               z.name, z.span.start.value(), z.span.end.value(), mib(z.span.pages()),
               z.present_pages, z.free_pages);
        char line[160];
        size_t n = lib::format(line, sizeof(line), "mm:   %-7s free blocks by order:", z.name);
        for (unsigned o = 0; o < MAX_ORDER && n < sizeof(line); ++o)
            n += lib::format(line + n, sizeof(line) - n, " %u:%u", o, z.free_area[o].nr_free);
        printk("%s\n", line);
    }
}

} // namespace mm
