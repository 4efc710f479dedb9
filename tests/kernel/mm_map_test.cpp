// The physical memory map, the lowmem/highmem split and the zones, checked
// against a model recomputed here from what the loader passed (boot_info)
// and the command line (mem=, highmem=) - never from constants tied to one
// configuration.
#include "arch/x86/cpu.h"
#include "boot/multiboot.h"
#include "boot/params.h"
#include "mm/buddy.h"
#include "mm/init.h"
#include "mm/layout.h"
#include "mm/memblock.h"
#include "mm/page.h"
#include "mm/zone.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(mm_map);

namespace {

struct Model {
    u64 clipped = 0;
    u32 max_pfn = 0;
    u32 max_low_pfn = 0;
};

u64 effective_mem_limit() {
    const u64 mem = boot::params.mem;
    return mem >= MIN_MEM_PARAM ? mem : 0;
}

// The CPU's physical address width, asked here rather than taken from the
// kernel's cpuid code: CPUID 0x80000008 if it exists, else 36 with PSE36,
// else 32.
u32 cpu_phys_bits() {
    u32 a, b, c, d;
    x86::cpuid(1, 0, a, b, c, d);
    u32 bits = d & (1u << 17) ? 36 : 32;
    x86::cpuid(0x80000000, 0, a, b, c, d);
    if (a >= 0x80000008 && a <= 0x8000ffff) {
        x86::cpuid(0x80000008, 0, a, b, c, d);
        if ((a & 0xff) >= 32)
            bits = a & 0xff;
    }
    return bits;
}

// What the kernel may map: MAX_PHYS (4 GiB with 2-level paging, 64 GiB
// with PAE), and no more than the CPU's physical addresses reach.
u64 reach() { return min(MAX_PHYS, u64{1} << cpu_phys_bits()); }

// Usable ranges as pages: clipped at reach() and mem=, rounded inward.
template <typename F>
void for_each_usable(F&& f) {
    const u64 mem = effective_mem_limit();
    const u64 limit = mem ? min(mem, reach()) : reach();
    for (unsigned i = 0; i < boot::boot_info.mmap_count; ++i) {
        const boot::MemoryRange& r = boot::boot_info.mmap[i];
        if (r.type != 1)
            continue;
        const u64 start = (r.base + PAGE_SIZE - 1) / PAGE_SIZE;
        const u64 end = min(r.base + r.length, limit) / PAGE_SIZE;
        if (end > start)
            f(static_cast<u32>(start), static_cast<u32>(end));
    }
}

Model model() {
    Model m;
    for (unsigned i = 0; i < boot::boot_info.mmap_count; ++i) {
        const boot::MemoryRange& r = boot::boot_info.mmap[i];
        if (r.type == 1 && r.base + r.length > reach())
            m.clipped += r.base + r.length - max(r.base, reach());
    }
    for_each_usable([&](u32, u32 end) { m.max_pfn = max(m.max_pfn, end); });
    const u64 high = boot::params.highmem / PAGE_SIZE;
    const u32 min_low = MIN_LOWMEM_WITH_HIGHMEM_PARAM / PAGE_SIZE;
    if (m.max_pfn <= MAXMEM_PFN) {
        m.max_low_pfn = m.max_pfn;
        if (high && high < m.max_pfn && m.max_pfn - high >= min_low)
            m.max_low_pfn = m.max_pfn - static_cast<u32>(high);
    } else {
        m.max_low_pfn = MAXMEM_PFN;
        if (high && high <= m.max_pfn - MAXMEM_PFN)
            m.max_pfn = MAXMEM_PFN + static_cast<u32>(high);
    }
    // mem_map (24 bytes a frame, in lowmem) may take half of lowmem.
    const u64 fits = u64{m.max_low_pfn} * PAGE_SIZE / 2 / sizeof(Page);
    if (m.max_pfn > fits)
        m.max_pfn = static_cast<u32>(fits);
    return m;
}

} // namespace

KTEST(mm_map, lowmem_limit_is_linux_maxmem) {
    // MAXMEM = VMALLOC_END - PAGE_OFFSET - 128 MiB, VMALLOC_END two pages under the pool.
    EXPECT_EQ(MAXMEM, PKMAP_BASE - 2 * PAGE_SIZE - PAGE_OFFSET - VMALLOC_RESERVE);
    EXPECT_EQ(PKMAP_BASE % PMD_SIZE, 0u);
    EXPECT_LE(max_low_pfn.value(), MAXMEM_PFN);
}

KTEST(mm_map, split_follows_map_mem_and_highmem) {
    const Model m = model();
    EXPECT_EQ(max_pfn.value(), m.max_pfn);
    EXPECT_EQ(max_low_pfn.value(), m.max_low_pfn);
    EXPECT_EQ(memory_split.clipped_bytes, m.clipped);
    const bool asked = boot::params.highmem != 0;
    const bool used = asked && (m.max_pfn <= MAXMEM_PFN ? m.max_low_pfn < m.max_pfn
                                                         : m.max_pfn - MAXMEM_PFN ==
                                                               boot::params.highmem / PAGE_SIZE);
    EXPECT_EQ(memory_split.highmem_param_used, used);
}

// The rule mm_init applies to the machine it runs on, on machines it does
// not: lowmem pays for every frame's struct page, and may spend half of
// itself on them. PAE's largest RAM, 64 GiB, needs 384 MiB of the 887 MiB of
// lowmem, so only a smaller lowmem (or a larger struct page) reaches the rule.
KTEST(mm_map, ram_is_limited_to_what_lowmem_can_describe) {
    constexpr u32 MIB = 256;   // pages
    // 64 MiB of lowmem: 32 MiB of struct page describe 1,398,101 frames.
    EXPECT_EQ(mem_map_reach(Pfn(16 * 1024 * MIB), Pfn(64 * MIB)).value(), 1398101u);
    // What fits is left alone: exactly 1,398,101 frames, and 4 GiB under L.
    EXPECT_EQ(mem_map_reach(Pfn(1398101), Pfn(64 * MIB)).value(), 1398101u);
    EXPECT_EQ(mem_map_reach(Pfn(1398102), Pfn(64 * MIB)).value(), 1398101u);
    EXPECT_EQ(mem_map_reach(Pfn(4096 * MIB), Pfn(MAXMEM_PFN)).value(), 4096 * MIB);
    // 64 GiB with the real lowmem limit L fits.
    EXPECT_EQ(mem_map_reach(Pfn(1u << 24), Pfn(MAXMEM_PFN)).value(), 1u << 24);
    EXPECT_EQ(memory_split.mem_map_dropped_bytes, 0u);
}

KTEST(mm_map, zone_spans_and_page_tags) {
    const u32 dma_end = min<u32>(DMA_LIMIT / PAGE_SIZE, max_low_pfn.value());
    EXPECT_EQ(zones[ZONE_DMA].span.start.value(), 0u);
    EXPECT_EQ(zones[ZONE_DMA].span.end.value(), dma_end);
    EXPECT_EQ(zones[ZONE_NORMAL].span.start.value(), dma_end);
    EXPECT_EQ(zones[ZONE_NORMAL].span.end.value(), max_low_pfn.value());
    EXPECT_EQ(zones[ZONE_HIGHMEM].span.start.value(), max_low_pfn.value());
    EXPECT_EQ(zones[ZONE_HIGHMEM].span.end.value(), max_pfn.value());
    u32 wrong = 0;
    for (u32 p = 0; p < max_pfn.value(); ++p) {
        const u8 want = p < dma_end ? ZONE_DMA : p < max_low_pfn.value() ? ZONE_NORMAL : ZONE_HIGHMEM;
        wrong += mem_map[p].zone != want;
    }
    EXPECT_EQ(wrong, 0u);
}

KTEST(mm_map, boot_free_pages_are_usable_minus_reservations) {
    // Union of the named reservations, as sorted, merged page intervals.
    unsigned n_res = 0;
    const memblock::Region* res = memblock::reserved(&n_res);
    u32 starts[memblock::MAX_REGIONS], ends[memblock::MAX_REGIONS];
    unsigned merged = 0;
    for (unsigned i = 0; i < n_res; ++i) {   // memblock keeps them sorted by base
        const u32 s = static_cast<u32>(res[i].base.value() / PAGE_SIZE);
        const u32 e = static_cast<u32>((res[i].end().value() + PAGE_SIZE - 1) / PAGE_SIZE);
        ASSERT_TRUE(i == 0 || res[i - 1].base <= res[i].base);
        if (merged && s <= ends[merged - 1]) {
            ends[merged - 1] = max(ends[merged - 1], e);
        } else {
            starts[merged] = s;
            ends[merged++] = e;
        }
    }
    u64 expected = 0;
    const Model m = model();
    for_each_usable([&](u32 s, u32 e) {
        e = min(e, m.max_pfn);   // a highmem= cap drops the top
        if (e <= s)
            return;
        u64 pages = e - s;
        for (unsigned k = 0; k < merged; ++k) {
            const u32 lo = max(s, starts[k]);
            const u32 hi = min(e, ends[k]);
            if (hi > lo)
                pages -= hi - lo;
        }
        expected += pages;
    });
    EXPECT_EQ(u64{memory_split.boot_free_pages}, expected);
    u32 present = 0;
    for (const Zone& z : zones)
        present += z.present_pages;
    EXPECT_EQ(u64{present}, expected);
}

extern "C" char __kernel_end[];

KTEST(mm_map, low_memory_and_kernel_image_stay_reserved) {
    const u32 image_end = reinterpret_cast<u32>(__kernel_end) - PAGE_OFFSET;
    u32 not_reserved = 0;
    for (u32 pfn = 0; pfn < image_end / PAGE_SIZE && pfn_valid(Pfn(pfn)); ++pfn)
        not_reserved += mem_map[pfn].state != PageState::Reserved;
    EXPECT_EQ(not_reserved, 0u);
}
