// Kernel TLB flushes and their counters.
//
// flush_tlb_kernel_range() is THE call for "kernel mappings in this range
// changed, every CPU must forget them" (spec §5.2): up to FLUSH_CEILING pages
// it runs one invlpg per page on every online CPU, above that one full flush
// (global entries too) on every online CPU; the initiator included, and it
// returns only when all have done it. It is a cross-CPU call: task context,
// interrupts enabled (else smp.call_with_irqs_disabled WARNs). It disables
// preemption for its whole length itself, so callers may be preemptible
// (vfree is): the initiator and the CPUs it asks are chosen on one CPU.
#pragma once

#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "lib/atomic.h"
#include "lib/types.h"

namespace x86 {

constexpr u32 FLUSH_CEILING = 33;   // Linux's tlb_single_page_flush_ceiling

void flush_tlb_kernel_range(u32 start, u32 end);
void flush_tlb_all();

// This CPU only, counted (a plain increment of this CPU's own counter).
inline void local_invlpg(u32 va) {
    invlpg(va);
    PERCPU_INC(tlb_invlpg);
}
inline void local_flush_all() {
    flush_tlb_local_all();
    PERCPU_INC(tlb_full_flushes);
}

struct TlbCounters {
    u32 invlpg;
    u32 full_flushes;
    u32 shootdowns_received;
};
TlbCounters tlb_counters(unsigned cpu);

// What flush_tlb_kernel_range() was asked, per initiating CPU: the number of
// requests and the last one's range as the caller gave it. Recorded here
// from the request, so a test can check what a caller asked for without
// trusting the caller's own account.
struct KernelFlushLog {
    u32 requests;
    u32 last_start;
    u32 last_end;
};
KernelFlushLog kernel_flush_log(unsigned cpu);

} // namespace x86
