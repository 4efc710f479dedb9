#include "tests/kernel/stress/kmap_local_stress.h"

#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/random.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "sched/preempt.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"
#include "tests/kernel/stress/workers.h"
#include "tests/kernel/helpers.h"

using namespace mm;

namespace stress {

namespace {

// The run the interrupt side maps for; null outside one.
KmapLocalStress* active;

u32 word_for(u32 owner, unsigned page, unsigned i) {
    return (owner << 24) ^ (page << 16) ^ (i * 2654435761u >> 8);
}

void fill_page(Page* p, u32 owner, unsigned page) {
    auto* w = static_cast<u32*>(kmap_local_page(p));
    for (unsigned i = 0; i < PAGE_SIZE / 4; ++i)
        w[i] = word_for(owner, page, i);
    kunmap_local(w);
}

u32 check_page(const u32* w, u32 owner, unsigned page) {
    u32 bad = 0;
    for (unsigned i = 0; i < PAGE_SIZE / 4; ++i)
        bad += w[i] != word_for(owner, page, i);
    return bad;
}

// The owner of a CPU's interrupt-context pages; the threads are 1, 2, ...
u32 irq_owner(unsigned cpu) { return 0x80 + cpu; }

} // namespace

u32 KmapLocalStress::pages_needed(unsigned ncpus) {
    return ncpus * THREADS_PER_CPU * MAX_DEPTH + ncpus * IRQ_PAGES;
}

// Interrupt context (the timer, or a call-function IPI): map this CPU's own
// pages on top of the interrupted task, check them, unmap.
void KmapLocalStress::map_in_interrupt(Atomic<u32> PerCpu::*counter) {
    KmapLocalStress* s = active;
    if (!s || !s->m_irq_active.load(MemoryOrder::Relaxed))
        return;
    const unsigned me = x86::this_cpu_index();
    const void* va[IRQ_PAGES];
    u32 bad = 0;
    for (unsigned k = 0; k < IRQ_PAGES; ++k) {
        va[k] = kmap_local_page(s->m_irq_pages[me][k]);
        bad += check_page(static_cast<const u32*>(va[k]), irq_owner(me), k);
    }
    for (unsigned k = IRQ_PAGES; k-- > 0;)
        kunmap_local(va[k]);
    (s->m_cpu[me].*counter).fetch_add(IRQ_PAGES, MemoryOrder::Relaxed);
    s->m_cpu[me].mismatches.fetch_add(bad, MemoryOrder::Relaxed);
}

void KmapLocalStress::irq_mapper(x86::InterruptFrame&) { map_in_interrupt(&PerCpu::irq_maps); }
void KmapLocalStress::ipi_mapper(void*) { map_in_interrupt(&PerCpu::ipi_maps); }

void KmapLocalStress::worker(void* arg) {
    auto* w = static_cast<Worker*>(arg);
    KmapLocalStress* s = w->run;
    Xorshift32 rng(0x6b6d6170u + w->id);   // fixed seed per worker
    sched::Task* me = sched::current();
    const u32 owner = w->id + 1;
    while (!s->m_stop.load(MemoryOrder::Relaxed)) {
        const unsigned depth = 1 + rng.below(MAX_DEPTH);
        const u32* va[MAX_DEPTH];
        u32 switches = me->switches_in;
        u32 preemptions = me->preemptions;
        for (unsigned d = 0; d < depth; ++d) {
            va[d] = static_cast<const u32*>(kmap_local_page(w->pages[d]));
            const unsigned cpu = x86::this_cpu_index();   // stable: migration is off
            // Spin a random while, so preemption strikes at random points.
            const u64 until = x86::now_ns() + rng.below(s->m_max_spin_ns);
            while (x86::now_ns() < until)
                x86::pause();
            if (me->switches_in != switches) {
                // Switched out and back in: every mapped byte must be ours.
                u32 bad = 0;
                for (unsigned k = 0; k <= d; ++k)
                    bad += check_page(va[k], owner, k);
                PerCpu& c = s->m_cpu[cpu];
                c.mismatches.fetch_add(bad, MemoryOrder::Relaxed);
                c.verified_bytes.fetch_add((d + 1) * PAGE_SIZE, MemoryOrder::Relaxed);
                if (me->preemptions != preemptions)
                    c.preemptions_holding.fetch_add(me->preemptions - preemptions,
                                                    MemoryOrder::Relaxed);
                switches = me->switches_in;
                preemptions = me->preemptions;
            }
        }
        PerCpu& c = s->m_cpu[x86::this_cpu_index()];
        u32 bad = 0;
        for (unsigned d = depth; d-- > 0;) {
            bad += check_page(va[d], owner, d);
            kunmap_local(va[d]);
        }
        c.mismatches.fetch_add(bad, MemoryOrder::Relaxed);
        c.verified_bytes.fetch_add(depth * PAGE_SIZE, MemoryOrder::Relaxed);
        c.ops.fetch_add(depth, MemoryOrder::Relaxed);
        if (rng.below(4) == 0)
            sched::sleep_ticks(1);
    }
}

bool KmapLocalStress::fill_pages() {
    for (unsigned c = 0; c < m_ncpus; ++c)
        for (unsigned k = 0; k < IRQ_PAGES; ++k) {
            m_irq_pages[c][k] = test_support::alloc_highuser_page();
            if (!m_irq_pages[c][k])
                return false;
            fill_page(m_irq_pages[c][k], irq_owner(c), k);
        }
    for (unsigned i = 0; i < m_ncpus * THREADS_PER_CPU; ++i) {
        m_workers[i].run = this;
        m_workers[i].id = i;
        for (unsigned d = 0; d < MAX_DEPTH; ++d) {
            Page* p = test_support::alloc_highuser_page();
            m_workers[i].pages[d] = p;
            if (!p || !is_highmem(p))
                return false;
            fill_page(p, i + 1, d);
        }
    }
    return true;
}

void KmapLocalStress::release_pages() {
    for (Worker& w : m_workers)
        for (Page*& p : w.pages)
            if (p) {
                free_page(p);
                p = nullptr;
            }
    for (auto& cpu : m_irq_pages)
        for (Page*& p : cpu)
            if (p) {
                free_page(p);
                p = nullptr;
            }
}

bool KmapLocalStress::start(unsigned ncpus, u32 max_spin_ns) {
    m_ncpus = ncpus;
    m_max_spin_ns = max_spin_ns ? max_spin_ns : 1;
    for (PerCpu& c : m_cpu)
        zero(c.ops, c.preemptions_holding, c.irq_maps, c.ipi_maps, c.verified_bytes, c.mismatches);
    m_stop.store(0);
    m_nthreads = 0;
    if (!fill_pages()) {
        release_pages();
        return false;
    }
    active = this;
    sched::add_tick_observer(irq_mapper);
    m_irq_active.store(1);
    for (unsigned i = 0; i < ncpus * THREADS_PER_CPU; ++i) {
        sched::KthreadOptions start;
        start.cpu = static_cast<int>(i % ncpus);   // spread, then free to move
        m_threads[i] = sched::kthread_create(worker, &m_workers[i], "kmap-stress", start);
        if (!m_threads[i]) {
            stop();
            return false;
        }
        ++m_nthreads;
    }
    return true;
}

void KmapLocalStress::ipi_round() {
    // Preemption off, as Linux asks of smp_call_function()'s callers. While
    // it waits, the sender runs the calls queued for its own CPU; preempted
    // among them, it would keep them from their senders, and a shootdown
    // sent under a spinlock that this CPU's next task spins on would never
    // finish (the soak deadlocked so).
    sched::PreemptGuard no_preemption;
    x86::smp_call_function(ipi_mapper, nullptr, true);
}

void KmapLocalStress::stop() {
    m_stop.store(1);
    for (unsigned i = 0; i < m_nthreads; ++i)
        sched::kthread_join(m_threads[i]);
    m_nthreads = 0;
    m_irq_active.store(0);
    sched::remove_tick_observer(irq_mapper);
    active = nullptr;
    release_pages();
}

} // namespace stress
