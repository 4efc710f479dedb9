#include "arch/x86/tlb.h"

#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/tlb_testing.h"
#include "lib/platform.h"

namespace x86 {
namespace {

// Written by the initiating CPU with preemption off, read by tests.
KernelFlushLog flush_log[NR_CPUS];

struct FlushRequest {
    u32 start;
    u32 pages;           // 0: a full flush
    unsigned initiator;
};

void do_flush(void* arg) {
    const auto* r = static_cast<const FlushRequest*>(arg);
    if (this_cpu_index() != r->initiator)
        PERCPU_INC(tlb_shootdowns_received);
    if (r->pages == 0) {
        local_flush_all();
        return;
    }
    for (u32 i = 0; i < r->pages; ++i)
        local_invlpg(r->start + (i << 12));
}

} // namespace

Atomic<bool> tlb_test_skip_shootdown{false};

void flush_tlb_kernel_range(u32 start, u32 end) {
    // Preemption off from here to the end of the wait, as in Linux: the
    // initiator recorded below must be the CPU that runs the local flush.
    platform::preempt_disable();
    const unsigned me = this_cpu_index();
    KernelFlushLog& log = flush_log[me];
    ++log.requests;
    log.last_start = start;
    log.last_end = end;
    const u32 first = start & ~0xfffu;
    const u32 pages = (end - first + 0xfff) >> 12;
    FlushRequest r{first, pages > FLUSH_CEILING ? 0 : pages, me};
    if (tlb_test_skip_shootdown.load(MemoryOrder::Relaxed))
        do_flush(&r);   // the negative control: only the initiator forgets
    else
        on_each_cpu(do_flush, &r, /*wait=*/true);
    platform::preempt_enable();
}

void flush_tlb_all() {
    platform::preempt_disable();
    FlushRequest r{0, 0, this_cpu_index()};
    on_each_cpu(do_flush, &r, /*wait=*/true);
    platform::preempt_enable();
}

KernelFlushLog kernel_flush_log(unsigned cpu) {
    return {__atomic_load_n(&flush_log[cpu].requests, __ATOMIC_RELAXED),
            __atomic_load_n(&flush_log[cpu].last_start, __ATOMIC_RELAXED),
            __atomic_load_n(&flush_log[cpu].last_end, __ATOMIC_RELAXED)};
}

TlbCounters tlb_counters(unsigned cpu) {
    const PerCpu& c = cpu_data[cpu];
    return {read_once(c.tlb_invlpg), read_once(c.tlb_full_flushes),
            read_once(c.tlb_shootdowns_received)};
}

} // namespace x86
