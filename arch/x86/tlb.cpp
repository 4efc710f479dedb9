#include "arch/x86/tlb.h"

#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"

namespace x86 {
namespace {
TlbCounters counters[NR_CPUS];
}

void local_invlpg(u32 va) {
    invlpg(va);
    ++counters[this_cpu_index()].invlpg;
}

void local_flush_all() {
    flush_tlb_local_all();
    ++counters[this_cpu_index()].full_flushes;
}

void flush_tlb_kernel_range(u32 start, u32 end) {
    start &= ~0xfffu;
    const u32 pages = (end - start + 0xfff) >> 12;
    if (pages > FLUSH_CEILING) {
        local_flush_all();
        return;
    }
    for (u32 i = 0; i < pages; ++i)
        local_invlpg(start + (i << 12));
}

void flush_tlb_all() { local_flush_all(); }

TlbCounters tlb_counters(unsigned cpu) { return counters[cpu]; }

} // namespace x86
