// The soak (tools/himem soak; a manual suite, so never part of a normal run):
// the kmap_local stress, kmap() pool traffic that wraps the pool, and the
// simulated device with its secondary-TLB notifier, all at once on every
// online CPU for ktest.soak_seconds. The three are the stress runs of the
// kmap_stress, pkmap and secondary_tlb suites (tests/kernel/stress/), here
// bounded by time alone.
//
// Every 10 s of kernel time it prints the cumulative counts, and at the end
// one verdict line:
//
//   # soak: 10 s: kmap_local 81234 ops, 980 preemptions holding, 3120 interrupt maps;
//     kmap 5120 ops, 3 wraps; device 20480 accesses, 731 invalidations; 0 mismatches
//   # soak: PASS after 600 s on 8 CPUs: kmap_local ...; 0 mismatches
//
// (each one line). Any mismatch fails it, and so does a part that made no
// progress (a CPU that did no kmap_local, a pool that never wrapped, ...). A
// mismatch ends the run at the next report: what follows it would only
// count the corruption again. Each report keeps the ktest watchdog alive, so
// a hang is reported, with every CPU's trace, within ktest.timeout of the
// last report rather than at the end of the soak.
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/format.h"
#include "mm/buddy.h"
#include "mm/pkmap.h"
#include "mm/zone.h"
#include "sched/sched.h"
#include "tests/kernel/stress/device_tlb.h"
#include "tests/kernel/stress/kmap_local_stress.h"
#include "tests/kernel/stress/pool_traffic.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using namespace stress;

KTEST_SUITE(soak, .manual = true);

namespace {

constexpr u64 NS_PER_S = 1000000000ull;
constexpr u64 REPORT_EVERY_NS = 10 * NS_PER_S;
// kmap_stress holds each level up to 2 ms; a tenth of that gives several
// times the operations, and the threads still hold mappings most of the
// time they run. Shorter still, they would sleep (a tick after one stack in
// four) so often that the tick would find fewer of them to preempt.
constexpr u32 MAX_SPIN_NS = 200000;
constexpr u32 DEVICE_SEED = 0x50a4de00u;

// Cumulative counts of the three parts, summed over the CPUs.
struct Totals {
    u64 local_ops = 0;
    u64 preemptions_holding = 0;
    u64 interrupt_maps = 0;
    u64 local_mismatches = 0;   // words
    u64 kmap_ops = 0;
    u64 wraps = 0;
    u64 kmap_mismatches = 0;    // mappings with a wrong pattern or scratch word
    u64 device_accesses = 0;
    u64 invalidations = 0;
    u64 device_mismatches = 0;  // accesses that saw or did the wrong thing
    u64 region_changes_failed = 0;

    u64 mismatches() const { return local_mismatches + kmap_mismatches + device_mismatches; }
};

// Everything the soak runs, and the order it starts and stops in.
class Soak : Pinned {
public:
    // False if a part could not start; what did start has been stopped.
    bool start(unsigned ncpus) {
        m_ncpus = ncpus;
        m_stop.store(0);
        if (!m_pages.get(PoolTraffic::PAGES))
            return false;
        if (!m_region.create(DeviceRun::region_pages(ncpus)) || !m_device.attach(m_region.r)) {
            finish();
            return false;
        }
        m_device_attached = true;
        m_wraps0 = pkmap_stats().wraps;
        if (!m_local.start(ncpus, MAX_SPIN_NS)) {
            finish();
            return false;
        }
        m_local_running = true;
        const Budget budget = {.stop = &m_stop};
        m_pool_running = m_pool.start(m_pages, ncpus, budget);
        m_device_running =
            m_pool_running && m_device_run.start(m_device, m_region, ncpus, DEVICE_SEED, budget);
        if (!m_device_running) {
            finish();
            return false;
        }
        return true;
    }

    void ipi_round() { m_local.ipi_round(); }

    // Stop and join everything that runs, and give back what it used.
    void finish() {
        m_stop.store(1);
        if (m_device_running)
            m_device_run.join();
        if (m_pool_running)
            m_pool.join();
        if (m_local_running)
            m_local.stop();
        if (m_device_attached)
            m_device.detach();
        m_region.destroy();
        m_device_running = m_pool_running = m_local_running = m_device_attached = false;
        m_pages.put();
    }

    Totals totals() const;
    // The CPUs or workers that made no progress, as text; empty if none.
    void stalled(char* out, size_t size) const;

private:
    unsigned m_ncpus = 0;
    Atomic<u32> m_stop{0};
    HighPages m_pages;
    Region m_region;
    DeviceTlb m_device;
    bool m_device_attached = false;
    u32 m_wraps0 = 0;
    KmapLocalStress m_local;
    bool m_local_running = false;
    PoolTraffic m_pool;
    bool m_pool_running = false;
    DeviceRun m_device_run;
    bool m_device_running = false;
};

Totals Soak::totals() const {
    Totals t;
    for (unsigned c = 0; c < m_ncpus; ++c) {
        const KmapLocalStress::PerCpu& p = m_local.cpu(c);
        t.local_ops += p.ops.load(MemoryOrder::Relaxed);
        t.preemptions_holding += p.preemptions_holding.load(MemoryOrder::Relaxed);
        t.interrupt_maps +=
            p.irq_maps.load(MemoryOrder::Relaxed) + p.ipi_maps.load(MemoryOrder::Relaxed);
        t.local_mismatches += p.mismatches.load(MemoryOrder::Relaxed);
    }
    for (unsigned c = 0; c < m_pool.workers(); ++c) {
        const PoolTraffic::Worker& w = m_pool.worker(c);
        t.kmap_ops += w.done.load(MemoryOrder::Relaxed);
        t.kmap_mismatches +=
            w.bad_pattern.load(MemoryOrder::Relaxed) + w.bad_scratch.load(MemoryOrder::Relaxed);
    }
    t.wraps = pkmap_stats().wraps - m_wraps0;
    for (unsigned c = 0; c < m_device_run.workers(); ++c) {
        const DeviceRun::Worker& w = m_device_run.worker(c);
        t.device_accesses += w.device_ops.load(MemoryOrder::Relaxed);
        t.device_mismatches += w.stale_reads.load(MemoryOrder::Relaxed) +
                               w.writes_through_readonly.load(MemoryOrder::Relaxed) +
                               w.writes_lost.load(MemoryOrder::Relaxed) +
                               w.wrong_faults.load(MemoryOrder::Relaxed);
        t.region_changes_failed += w.cpu_ops_failed.load(MemoryOrder::Relaxed);
    }
    t.invalidations = m_device.stats().invalidations;
    return t;
}

// A list of items, comma-separated, in a fixed buffer; what does not fit is cut.
class Items {
public:
    Items(char* buf, size_t size) : m_buf(buf), m_size(size) { m_buf[0] = '\0'; }

    template <typename... Args>
    void item(const char* fmt, Args... args) {
        if (m_len && m_len < m_size)
            m_len += lib::format(m_buf + m_len, m_size - m_len, ", ");
        if (m_len < m_size)
            m_len += lib::format(m_buf + m_len, m_size - m_len, fmt, args...);
    }

private:
    char* m_buf;
    size_t m_size;
    size_t m_len = 0;
};

void Soak::stalled(char* out, size_t size) const {
    Items list(out, size);
    for (unsigned c = 0; c < m_ncpus; ++c) {
        const KmapLocalStress::PerCpu& p = m_local.cpu(c);
        if (p.ops.load() == 0)
            list.item("no kmap_local on CPU %u", c);
        if (p.preemptions_holding.load() == 0)
            list.item("no preemption holding mappings on CPU %u", c);
        if (p.irq_maps.load() == 0)
            list.item("no timer-context map on CPU %u", c);
    }
    for (unsigned c = 0; c < m_pool.workers(); ++c)
        if (m_pool.worker(c).done.load() == 0)
            list.item("no kmap on CPU %u", c);
    for (unsigned c = 0; c < m_device_run.workers(); ++c)
        if (m_device_run.worker(c).device_ops.load() == 0)
            list.item("no device access on CPU %u", c);
    const Totals t = totals();
    if (t.wraps == 0)
        list.item("the pool never wrapped");
    if (t.invalidations == 0)
        list.item("the device's notifier was never called");
}

void describe(const Totals& t, char* out, size_t size) {
    lib::format(out, size,
                "kmap_local %llu ops, %llu preemptions holding, %llu interrupt maps; "
                "kmap %llu ops, %llu wraps; device %llu accesses, %llu invalidations; "
                "%llu mismatches",
                t.local_ops, t.preemptions_holding, t.interrupt_maps, t.kmap_ops, t.wraps,
                t.device_accesses, t.invalidations, t.mismatches());
}

u64 seconds_since(u64 start_ns) { return (x86::now_ns() - start_ns) / NS_PER_S; }

} // namespace

KTEST(soak, kmap_local_kmap_and_notifiers_on_every_cpu_until_the_time_is_up) {
    static Soak soak;
    const unsigned ncpus = x86::num_online_cpus();
    const unsigned seconds = ktest::soak_seconds();
    const u32 needed = KmapLocalStress::pages_needed(ncpus) + PoolTraffic::PAGES +
                       2 * DeviceRun::region_pages(ncpus) + 64;
    if (zone_free_pages(ZONE_HIGHMEM) < needed) {
        KTEST_FAIL("soak: FAIL after 0 s on %u CPUs: needs %u free highmem pages, has %u", ncpus,
                   needed, zone_free_pages(ZONE_HIGHMEM));
        return;
    }
    ASSERT_TRUE(soak.start(ncpus));

    const u64 start = x86::now_ns();
    const u64 end = start + seconds * NS_PER_S;
    u64 next_report = start + REPORT_EVERY_NS;
    char line[320];
    bool mismatched = false;
    while (x86::now_ns() < end && !mismatched) {
        sched::sleep_ticks(10);
        soak.ipi_round();   // interrupt-context maps from IPIs too
        if (x86::now_ns() < next_report)
            continue;
        const Totals t = soak.totals();
        describe(t, line, sizeof(line));
        ktest_ctx.diag("soak: %llu s: %s", seconds_since(start), line);
        ktest::keep_alive();
        mismatched = t.mismatches() != 0;
        next_report += REPORT_EVERY_NS;
    }
    const u64 ran = seconds_since(start);
    ktest::keep_alive();   // the stop and the joins get the watchdog's whole limit
    soak.finish();

    const Totals t = soak.totals();
    char stalled[160];
    soak.stalled(stalled, sizeof(stalled));
    describe(t, line, sizeof(line));
    if (t.mismatches() != 0) {
        KTEST_FAIL("soak: FAIL after %llu s on %u CPUs: %llu mismatches (kmap_local %llu words, "
                   "kmap %llu mappings, device %llu accesses): %s", ran, ncpus, t.mismatches(),
                   t.local_mismatches, t.kmap_mismatches, t.device_mismatches, line);
    } else if (t.region_changes_failed != 0) {
        KTEST_FAIL("soak: FAIL after %llu s on %u CPUs: %llu region changes failed: %s", ran,
                   ncpus, t.region_changes_failed, line);
    } else if (stalled[0]) {
        KTEST_FAIL("soak: FAIL after %llu s on %u CPUs: %s: %s", ran, ncpus, stalled, line);
    } else {
        ktest_ctx.diag("soak: PASS after %llu s on %u CPUs: %s", ran, ncpus, line);
    }
}
