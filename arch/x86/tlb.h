// Kernel TLB flushes and their counters.
//
// flush_tlb_kernel_range() is THE call for "kernel mappings in this range
// changed, every CPU must forget them": up to FLUSH_CEILING pages it issues
// one invlpg per page, above that one full flush (global entries too).
// Until SMP exists (the SMP platform issue) it flushes only this CPU; then
// it becomes a shootdown by IPI. Callers need not change.
#pragma once

#include "lib/types.h"

namespace x86 {

constexpr u32 FLUSH_CEILING = 33;   // Linux's tlb_single_page_flush_ceiling

void flush_tlb_kernel_range(u32 start, u32 end);
void flush_tlb_all();

// This CPU only, counted.
void local_invlpg(u32 va);
void local_flush_all();

struct TlbCounters {
    u32 invlpg;
    u32 full_flushes;
    u32 shootdowns_received;
};
TlbCounters tlb_counters(unsigned cpu);

} // namespace x86
