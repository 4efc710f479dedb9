// kmap_local under load: several threads per CPU each build stacks of random
// depth (1..13) over distinct highmem pages holding a task-specific pattern,
// are preempted at random points and verify every mapped byte after every
// switch, while the timer interrupt maps and checks pages of its own on top
// of whatever task it interrupts. Fixed seeds; it runs until every CPU has
// reached its floors (preemptions while holding mappings, interrupt-context
// maps, verified bytes), capped in time; missing a floor by the cap fails.
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/random.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "mm/zone.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"
#include "tests/ktest/ktest.h"

using namespace mm;

KTEST_SUITE(kmap_stress);

namespace {

constexpr unsigned THREADS_PER_CPU = 3;
constexpr unsigned MAX_DEPTH = 13;        // + 2 from an interrupt = 15, the limit
constexpr unsigned IRQ_PAGES = 2;
constexpr u32 FLOOR_PREEMPTIONS = 10;     // per CPU: preempted while holding mappings
constexpr u32 FLOOR_IRQ_MAPS = 200;       // per CPU
constexpr u32 FLOOR_VERIFIED = 2 * 1024 * 1024;  // bytes per CPU
constexpr u64 CAP_NS = 60000000000ull;

struct PerCpu {
    Atomic<u32> preemptions_holding;
    Atomic<u32> irq_maps;
    Atomic<u32> ipi_maps;
    Atomic<u32> verified_bytes;
    Atomic<u32> mismatches;
};

struct Worker {
    unsigned id;
    Page* pages[MAX_DEPTH];
};

struct Stress {
    Atomic<u32> stop{0};
    Atomic<u32> irq_active{0};
    PerCpu cpu[x86::NR_CPUS];
    Page* irq_pages[x86::NR_CPUS][IRQ_PAGES];
    Worker workers[x86::NR_CPUS * THREADS_PER_CPU];
};
Stress* stress;

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

// Interrupt context (the timer, or a call-function IPI): map this CPU's own
// pages on top of the interrupted task, check them, unmap.
void map_in_interrupt(Atomic<u32> PerCpu::*counter) {
    Stress* s = stress;
    if (!s || !s->irq_active.load(MemoryOrder::Relaxed))
        return;
    const unsigned me = x86::this_cpu_index();
    const u32 owner = 0x80 + me;
    const void* va[IRQ_PAGES];
    u32 bad = 0;
    for (unsigned k = 0; k < IRQ_PAGES; ++k) {
        va[k] = kmap_local_page(s->irq_pages[me][k]);
        bad += check_page(static_cast<const u32*>(va[k]), owner, k);
    }
    for (unsigned k = IRQ_PAGES; k-- > 0;)
        kunmap_local(va[k]);
    (s->cpu[me].*counter).fetch_add(IRQ_PAGES, MemoryOrder::Relaxed);
    s->cpu[me].mismatches.fetch_add(bad, MemoryOrder::Relaxed);
}

void irq_mapper(x86::InterruptFrame&) { map_in_interrupt(&PerCpu::irq_maps); }
void ipi_mapper(void*) { map_in_interrupt(&PerCpu::ipi_maps); }

void worker(void* arg) {
    auto* w = static_cast<Worker*>(arg);
    Stress* s = stress;
    Xorshift32 rng(0x6b6d6170u + w->id);   // fixed seed per worker
    sched::Task* me = sched::current();
    const u32 owner = w->id + 1;
    while (!s->stop.load(MemoryOrder::Relaxed)) {
        const unsigned depth = 1 + rng.below(MAX_DEPTH);
        const u32* va[MAX_DEPTH];
        u32 switches = me->switches_in;
        u32 preemptions = me->preemptions;
        for (unsigned d = 0; d < depth; ++d) {
            va[d] = static_cast<const u32*>(kmap_local_page(w->pages[d]));
            const unsigned cpu = x86::this_cpu_index();   // stable: migration is off
            // Spin a random while, so preemption strikes at random points.
            const u64 until = x86::now_ns() + rng.below(2000000);
            while (x86::now_ns() < until)
                x86::pause();
            if (me->switches_in != switches) {
                // Switched out and back in: every mapped byte must be ours.
                u32 bad = 0;
                for (unsigned k = 0; k <= d; ++k)
                    bad += check_page(va[k], owner, k);
                s->cpu[cpu].mismatches.fetch_add(bad, MemoryOrder::Relaxed);
                s->cpu[cpu].verified_bytes.fetch_add((d + 1) * PAGE_SIZE, MemoryOrder::Relaxed);
                if (me->preemptions != preemptions)
                    s->cpu[cpu].preemptions_holding.fetch_add(me->preemptions - preemptions,
                                                              MemoryOrder::Relaxed);
                switches = me->switches_in;
                preemptions = me->preemptions;
            }
        }
        const unsigned cpu = x86::this_cpu_index();
        u32 bad = 0;
        for (unsigned d = depth; d-- > 0;) {
            bad += check_page(va[d], owner, d);
            kunmap_local(va[d]);
        }
        s->cpu[cpu].mismatches.fetch_add(bad, MemoryOrder::Relaxed);
        s->cpu[cpu].verified_bytes.fetch_add(depth * PAGE_SIZE, MemoryOrder::Relaxed);
        if (rng.below(4) == 0)
            sched::sleep_ticks(1);
    }
}

bool floors_reached(const Stress& s) {
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c) {
        const PerCpu& p = s.cpu[c];
        if (p.preemptions_holding.load() < FLOOR_PREEMPTIONS || p.irq_maps.load() < FLOOR_IRQ_MAPS ||
            p.verified_bytes.load() < FLOOR_VERIFIED * ktest::stress_scale())
            return false;
    }
    return true;
}

} // namespace

KTEST(kmap_stress, random_stacks_preemption_and_interrupt_maps_on_every_cpu) {
    static Stress s;
    const unsigned ncpus = x86::num_online_cpus();
    const unsigned nworkers = ncpus * THREADS_PER_CPU;
    const u32 needed = nworkers * MAX_DEPTH + ncpus * IRQ_PAGES;
    if (zone_free_pages(ZONE_HIGHMEM) < needed + 64)
        KTEST_SKIP("needs enough free highmem pages");
    for (auto& c : s.cpu) {
        c.preemptions_holding.store(0);
        c.irq_maps.store(0);
        c.ipi_maps.store(0);
        c.verified_bytes.store(0);
        c.mismatches.store(0);
    }
    s.stop.store(0);
    for (unsigned c = 0; c < ncpus; ++c)
        for (unsigned k = 0; k < IRQ_PAGES; ++k) {
            s.irq_pages[c][k] = alloc_page(Gfp::HighUser);
            ASSERT_NOT_NULL(s.irq_pages[c][k]);
            fill_page(s.irq_pages[c][k], 0x80 + c, k);
        }
    for (unsigned i = 0; i < nworkers; ++i) {
        s.workers[i].id = i;
        for (unsigned d = 0; d < MAX_DEPTH; ++d) {
            s.workers[i].pages[d] = alloc_page(Gfp::HighUser);
            ASSERT_NOT_NULL(s.workers[i].pages[d]);
            ASSERT_TRUE(is_highmem(s.workers[i].pages[d]));
            fill_page(s.workers[i].pages[d], i + 1, d);
        }
    }
    stress = &s;
    sched::add_tick_observer(irq_mapper);
    s.irq_active.store(1);
    sched::Task* threads[x86::NR_CPUS * THREADS_PER_CPU];
    for (unsigned i = 0; i < nworkers; ++i) {
        sched::KthreadOptions start;
        start.cpu = static_cast<int>(i % ncpus);   // spread, then free to move
        threads[i] = sched::kthread_create(worker, &s.workers[i], "kmap-stress", start);
        ASSERT_NOT_NULL(threads[i]);
    }
    const u64 cap = x86::now_ns() + CAP_NS;
    while (!floors_reached(s) && x86::now_ns() < cap) {
        sched::sleep_ticks(10);
        x86::smp_call_function(ipi_mapper, nullptr, true);   // and from IPIs
    }
    s.stop.store(1);
    for (unsigned i = 0; i < nworkers; ++i)
        sched::kthread_join(threads[i]);
    s.irq_active.store(0);
    sched::remove_tick_observer(irq_mapper);
    stress = nullptr;

    u32 mismatches = 0;
    for (unsigned c = 0; c < ncpus; ++c) {
        const PerCpu& p = s.cpu[c];
        ktest_ctx.diag("CPU %u: %u preemptions holding mappings, %u timer maps, %u IPI maps, "
                       "%u KiB verified, %u mismatches", c, p.preemptions_holding.load(),
                       p.irq_maps.load(), p.ipi_maps.load(), p.verified_bytes.load() >> 10,
                       p.mismatches.load());
        mismatches += p.mismatches.load();
        EXPECT_GE(p.preemptions_holding.load(), FLOOR_PREEMPTIONS);
        EXPECT_GE(p.irq_maps.load(), FLOOR_IRQ_MAPS);
        if (c != x86::this_cpu_index() && ncpus > 1)
            EXPECT_GT(p.ipi_maps.load(), 0u);
        EXPECT_GE(p.verified_bytes.load(), FLOOR_VERIFIED * ktest::stress_scale());
    }
    EXPECT_EQ(mismatches, 0u);
    for (unsigned i = 0; i < nworkers; ++i)
        for (unsigned d = 0; d < MAX_DEPTH; ++d)
            free_page(s.workers[i].pages[d]);
    for (unsigned c = 0; c < ncpus; ++c)
        for (unsigned k = 0; k < IRQ_PAGES; ++k)
            free_page(s.irq_pages[c][k]);
}
