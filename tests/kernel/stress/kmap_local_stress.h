// kmap_local under load, shared by kmap_stress (which runs it until every CPU
// has reached its floors) and the soak (until its time is up).
//
// Several threads per CPU each build stacks of random depth (1..13) over
// distinct highmem pages holding a task-specific pattern, spin for random
// times while holding them so that the tick preempts them at random points,
// and verify every mapped byte after every switch and before every unmap.
// Meanwhile the timer interrupt of every CPU, and the call-function IPIs of
// ipi_round(), map and check pages of their own on top of whatever task they
// interrupt. Fixed seeds. One run at a time: the interrupt side finds the
// run through a global.
#pragma once

#include "arch/x86/interrupt_frame.h"
#include "arch/x86/percpu.h"
#include "lib/atomic.h"
#include "mm/page.h"
#include "sched/task.h"

namespace stress {

class KmapLocalStress : Pinned {
public:
    static constexpr unsigned THREADS_PER_CPU = 3;
    static constexpr unsigned MAX_DEPTH = 13;   // + 2 from an interrupt = 15, the limit
    static constexpr unsigned IRQ_PAGES = 2;

    // Cumulative, readable while the run goes on.
    struct PerCpu {
        Atomic<u32> ops;                   // map + unmap pairs of the threads
        Atomic<u32> preemptions_holding;   // preempted while holding mappings
        Atomic<u32> irq_maps;              // pages mapped from the timer interrupt
        Atomic<u32> ipi_maps;              // ... and from call-function IPIs
        Atomic<u32> verified_bytes;        // wraps in a long run; floors only
        Atomic<u32> mismatches;            // words that did not show their pattern
    };

    // The highmem pages a run on `ncpus` CPUs takes.
    static u32 pages_needed(unsigned ncpus);

    // Fill the pages, hook the timer, start the threads. Each level of a
    // stack is held for a random time below `max_spin_ns` (longer: fewer
    // operations, each one more likely to be preempted). False, with
    // everything undone, if pages or threads ran out.
    bool start(unsigned ncpus, u32 max_spin_ns);
    // Map and check from a call-function IPI on every other CPU; waits.
    void ipi_round();
    // Stop and join the threads, unhook the timer, free the pages.
    void stop();

    const PerCpu& cpu(unsigned c) const { return m_cpu[c]; }

private:
    struct Worker {
        KmapLocalStress* run;
        unsigned id;
        mm::Page* pages[MAX_DEPTH];
    };

    static void worker(void* arg);
    static void map_in_interrupt(Atomic<u32> PerCpu::*counter);
    static void irq_mapper(x86::InterruptFrame&);
    static void ipi_mapper(void*);
    bool fill_pages();
    void release_pages();

    Atomic<u32> m_stop{0};
    Atomic<u32> m_irq_active{0};
    unsigned m_ncpus = 0;
    u32 m_max_spin_ns = 0;
    PerCpu m_cpu[x86::NR_CPUS];
    mm::Page* m_irq_pages[x86::NR_CPUS][IRQ_PAGES] = {};
    Worker m_workers[x86::NR_CPUS * THREADS_PER_CPU] = {};
    sched::Task* m_threads[x86::NR_CPUS * THREADS_PER_CPU] = {};
    unsigned m_nthreads = 0;
};

} // namespace stress
