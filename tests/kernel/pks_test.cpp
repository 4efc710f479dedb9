// Protection keys, rule by rule (linux-highmem-spec.md §6.6): each case is
// named after the invariant it proves (S1-S8), then the issue's own. Keyed
// frames here are a block of highmem pages the case tags with a test key for
// its length (mm/pmem.h's domain is the production user of tagging).
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/nofault.h"
#include "arch/x86/pkrs.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/random.h"
#include "mm/buddy.h"
#include "mm/faultable.h"
#include "mm/kmap_local.h"
#include "mm/local_mapping.h"
#include "mm/pkmap.h"
#include "mm/pkmap_testing.h"
#include "mm/pks.h"
#include "mm/pmem.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"
#include "tests/kernel/helpers.h"
#include "tests/kernel/pks_helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using x86::PkeyRights;
using x86::pkrs_with;
using namespace test_support;

namespace {

// ---- keys, and a handler that records ---------------------------------------------

struct Record {
    Atomic<u32> calls{0};
    unsigned key = 0;
    bool write = false;
    bool shared = false;
    u32 address = 0;
    sched::Task* task = nullptr;
    // What the handler does: nothing (the fault stays unhandled), or grant.
    bool grant = false;
    PkeyRights grant_rights = PkeyRights::ReadWrite;

    void reset(bool grant_it = false) {
        calls.store(0);
        key = 0;
        write = shared = false;
        address = 0;
        task = nullptr;
        grant = grant_it;
    }
};
Record rec;

bool record_fault(PksFault& f) {
    rec.key = f.key;
    rec.write = f.write;
    rec.shared = f.shared;
    rec.address = f.address;
    rec.task = f.task;
    rec.calls.fetch_add(1);
    if (!rec.grant)
        return false;
    f.grant(rec.grant_rights);
    return true;
}

// Keys are never given back: allocated once, for every boot's run of the suite.
unsigned key_t = 0;        // faults go to record_fault
unsigned key_relaxed = 0;  // no handler: the mode decides

int keys_init() {
    if (!key_t)
        key_t = pks_key_alloc("test", record_fault);
    if (!key_relaxed)
        key_relaxed = pks_key_alloc("test-relaxed", nullptr);
    return key_t && key_relaxed ? 0 : 1;
}

} // namespace

KTEST_SUITE(pks, .init = keys_init);

namespace {

unsigned cpu() { return x86::this_cpu_index(); }

sched::KthreadOptions on_cpu(unsigned c) {
    sched::KthreadOptions o;
    o.allowed = x86::cpu_bit(c);
    o.cpu = static_cast<int>(c);
    return o;
}

// The other CPU a case uses, if there is one.
unsigned other_cpu() { return x86::num_online_cpus() > 1 ? 1 : 0; }

} // namespace

// ---- S1: the register's layout -------------------------------------------------------

KTEST(pks, s1_two_bits_per_key_ad_low_wd_high_key_0_always_read_write) {
    EXPECT_EQ(x86::PKRS_DEFAULT, 0xfffffffcu);
    for (unsigned k = 0; k < x86::NR_PKEYS; ++k) {
        const u32 mask = 3u << (2 * k);
        const u32 ro = pkrs_with(x86::PKRS_DEFAULT, k, PkeyRights::ReadOnly);
        const u32 na = pkrs_with(0, k, PkeyRights::NoAccess);
        const u32 rw = pkrs_with(x86::PKRS_DEFAULT, k, PkeyRights::ReadWrite);
        EXPECT_EQ(ro & ~mask, x86::PKRS_DEFAULT & ~mask);    // only key k's bits change
        EXPECT_EQ((ro & mask) >> (2 * k), 2u);               // 10b: write-disable
        EXPECT_EQ(na, mask);                                 // 11b: no access
        EXPECT_EQ(rw & mask, 0u);
        EXPECT_TRUE(x86::pkrs_rights(x86::pkrs_ad(k), k) == PkeyRights::NoAccess);   // 01b too
    }
    EXPECT_TRUE(x86::pkrs_rights(x86::PKRS_DEFAULT, 0) == PkeyRights::ReadWrite);
    EXPECT_EQ(x86::pkrs_read(), pks_context_rights() & pks_global_rights());
}

// ---- S2: no access faults reads, read-only faults writes, with the PK bit ------------

KTEST(pks, s2_access_disable_faults_reads_and_write_disable_faults_writes) {
    NEED_KEYED_PAGES(pages, key_t, 0);
    rec.reset();
    const PksStats s0 = pks_stats();
    void* va = kmap_local_pfn(page_to_pfn(pages[0]));   // a frame: nothing enabled
    EXPECT_FALSE(readable(va));
    EXPECT_EQ(rec.calls.load(), 1u);
    EXPECT_EQ(rec.key, key_t);                            // found from the frame
    EXPECT_FALSE(rec.write);
    EXPECT_FALSE(rec.shared);
    EXPECT_EQ(rec.address, reinterpret_cast<u32>(va));
    pks_mk_readonly(key_t);
    EXPECT_TRUE(shows(va, pages[0]));
    EXPECT_FALSE(writable(va));
    EXPECT_EQ(rec.calls.load(), 2u);
    EXPECT_TRUE(rec.write);
    pks_mk_readwrite(key_t);
    EXPECT_TRUE(writable(va));
    pks_mk_noaccess(key_t);
    EXPECT_FALSE(readable(va));
    kunmap_local(va);
    EXPECT_EQ(pks_stats().faults - s0.faults, 3u);
    EXPECT_EQ(rec.calls.load(), 3u);
}

// ---- S3: rights are per thread and go with it across switches ------------------------

namespace {
struct SwitchCheck {
    Atomic<u32> armed{0};
    Atomic<u32> checked{0};
    Atomic<u32> wrong{0};
};
SwitchCheck switch_check;

// At every switch, first thing in its finish half (a test's switch_in runs
// before the subsystems'): the register holds what the incoming task may do.
void check_register(sched::Task*) {
    if (!switch_check.armed.load(MemoryOrder::Relaxed))
        return;
    switch_check.checked.fetch_add(1, MemoryOrder::Relaxed);
    if (x86::pkrs_read() != (sched::current()->pks.pkrs & pks_global_rights()))
        switch_check.wrong.fetch_add(1, MemoryOrder::Relaxed);
}
const sched::TaskHooks register_checker{.name = "pks-register-check", .switch_in = check_register};

struct TwoThreads {
    Page* page;
    sched::Completion a_ready, b_done, a_go;
    bool a_before, a_after, b_could_read, b_pkrs_default;

    void reset(Page* p) {
        page = p;
        a_ready.reinit();
        b_done.reinit();
        a_go.reinit();
        a_before = a_after = b_pkrs_default = false;
        b_could_read = true;
    }
};

void thread_a(void* arg) {
    auto* t = static_cast<TwoThreads*>(arg);
    pks_mk_readwrite(key_t);
    void* va = kmap_local_pfn(page_to_pfn(t->page));
    t->a_before = writable(va);
    t->a_ready.complete();
    t->a_go.wait();                 // B runs on this CPU meanwhile
    t->a_after = writable(va) && shows(va, t->page);
    kunmap_local(va);
}

void thread_b(void* arg) {
    auto* t = static_cast<TwoThreads*>(arg);
    t->b_pkrs_default = pks_context_rights() == x86::PKRS_DEFAULT;
    void* va = kmap_local_pfn(page_to_pfn(t->page));
    t->b_could_read = readable(va);
    kunmap_local(va);
    t->b_done.complete();
}
} // namespace

KTEST(pks, s3_a_threads_rights_survive_its_switches_and_are_not_anothers) {
    NEED_KEYED_PAGES(pages, key_t, 0);
    rec.reset();
    static TwoThreads t;
    t.reset(pages[0]);
    switch_check.checked.store(0);
    switch_check.wrong.store(0);
    sched::testing::TaskHooksGuard checking(register_checker);
    switch_check.armed.store(1);
    const unsigned c = other_cpu();
    sched::Task* a = sched::kthread_create(thread_a, &t, "pks-a", on_cpu(c));
    ASSERT_NOT_NULL(a);
    t.a_ready.wait();
    sched::Task* b = sched::kthread_create(thread_b, &t, "pks-b", on_cpu(c));
    ASSERT_NOT_NULL(b);
    t.b_done.wait();
    t.a_go.complete();
    sched::kthread_join(b);
    sched::kthread_join(a);
    switch_check.armed.store(0);
    EXPECT_TRUE(t.a_before);
    EXPECT_TRUE(t.b_pkrs_default);
    EXPECT_FALSE(t.b_could_read);
    EXPECT_TRUE(t.a_after);
    EXPECT_GE(switch_check.checked.load(), 4u);
    EXPECT_EQ(switch_check.wrong.load(), 0u);
    EXPECT_EQ(rec.task, b);
}

// ---- S4: a handler runs with the default rights ------------------------------------------

namespace {
struct InterruptProbe {
    void* va = nullptr;
    bool could_read = true;
    u32 pkrs_inside = 0;
} probe;

void touch_from_interrupt(x86::InterruptFrame&) {
    probe.pkrs_inside = pks_context_rights();
    probe.could_read = readable(probe.va);
}
} // namespace

KTEST(pks, s4_an_interrupt_handler_gets_the_default_rights_and_the_task_keeps_its_own) {
    NEED_KEYED_PAGES(pages, key_t, 0);
    rec.reset();
    pks_mk_readwrite(key_t);
    probe = {kmap_local_pfn(page_to_pfn(pages[0]))};
    x86::set_interrupt_handler(x86::VECTOR_TEST, touch_from_interrupt);
    EXPECT_TRUE(writable(probe.va));
    asm volatile("int %0" : : "i"(x86::VECTOR_TEST) : "memory");
    EXPECT_EQ(probe.pkrs_inside, x86::PKRS_DEFAULT);
    EXPECT_FALSE(probe.could_read);                 // the task's mapping, denied to the handler
    EXPECT_EQ(rec.calls.load(), 1u);
    EXPECT_TRUE(writable(probe.va));                // and the task has it back
    // Handled by the key's handler (it grants the faulting context): the
    // handler reads, and the grant ends with it.
    rec.reset(/*grant_it=*/true);
    rec.grant_rights = PkeyRights::ReadOnly;
    asm volatile("int %0" : : "i"(x86::VECTOR_TEST) : "memory");
    EXPECT_TRUE(probe.could_read);
    EXPECT_EQ(rec.calls.load(), 1u);
    rec.reset();
    asm volatile("int %0" : : "i"(x86::VECTOR_TEST) : "memory");
    EXPECT_FALSE(probe.could_read);
    EXPECT_TRUE(writable(probe.va));
    x86::set_interrupt_handler(x86::VECTOR_TEST, nullptr);
    kunmap_local(probe.va);
    pks_mk_noaccess(key_t);
}

// ---- S5: enables nest; only the outer pair writes the register ---------------------------

KTEST(pks, s5_enable_enable_disable_keeps_access_and_only_the_outer_pair_writes) {
    NEED_KEYED_PAGES(pages, key_t, 0);
    sched::MigrateGuard here;
    const unsigned me = cpu();
    void* va = kmap_local_pfn(page_to_pfn(pages[0]));
    // No interrupt in between: each one writes the register twice.
    const u32 flags = x86::irq_save();
    const u32 w0 = x86::pkrs_writes(me);
    dev_page_enable_access(pages[0], false);
    const u32 w1 = x86::pkrs_writes(me);
    dev_page_enable_access(pages[0], false);
    const u32 w2 = x86::pkrs_writes(me);
    dev_page_disable_access(pages[0], false);
    const u32 w3 = x86::pkrs_writes(me);
    const bool open_after_one_disable = writable(va);
    dev_page_disable_access(pages[0], false);
    const u32 w4 = x86::pkrs_writes(me);
    x86::irq_restore(flags);
    EXPECT_EQ(w1 - w0, 1u);
    EXPECT_EQ(w2 - w1, 0u);
    EXPECT_EQ(w3 - w2, 0u);
    EXPECT_EQ(w4 - w3, 1u);
    EXPECT_TRUE(open_after_one_disable);
    rec.reset();
    EXPECT_FALSE(readable(va));
    kunmap_local(va);
}

// ---- S6: the handler table, and the modes --------------------------------------------------

KTEST(pks, s6_the_handler_table_stops_at_the_number_of_consumers) {
    KTEST_EXPECT_WARN("pks.bad_key", 2);   // the key just past the table, and the last one
    rec.reset();
    const unsigned n = pks_nr_consumers();
    ASSERT_GT(n, key_t);
    PksFault last{0, false, n - 1, sched::current(), false};
    PksFault beyond{0, false, n, sched::current(), false};
    // Key n - 1 is the last consumer's: its handler runs (key_relaxed's
    // default one would grant, so call it only if it is ours).
    if (n - 1 == key_t) {
        EXPECT_FALSE(pks_call_handler(last));   // ours records and declines
        EXPECT_EQ(rec.calls.load(), 1u);
    }
    PksFault ours{0, false, key_t, sched::current(), false};
    EXPECT_FALSE(pks_call_handler(ours));
    const u32 before = rec.calls.load();
    EXPECT_FALSE(pks_call_handler(beyond));     // `>` instead of `>=` would index past the table
    EXPECT_EQ(rec.calls.load(), before);
    PksFault way_beyond{0, false, x86::NR_PKEYS - 1, sched::current(), false};
    EXPECT_FALSE(pks_call_handler(way_beyond));
}

KTEST(pks, s6_relaxed_mode_warns_once_per_key_and_lets_the_context_go_on) {
    NEED_KEYED_PAGES(pages, key_relaxed, 0);
    ASSERT_TRUE(pks_mode() == PksMode::Relaxed);
    KTEST_EXPECT_WARN("pks.relaxed", 1);   // once per key
    const PksStats s0 = pks_stats();
    void* va = kmap_local_pfn(page_to_pfn(pages[0]));
    EXPECT_TRUE(shows(va, pages[0]));      // let through: read-only for this context
    EXPECT_TRUE(writable(va));             // again, silently: now read/write
    kunmap_local(va);
    EXPECT_EQ(pks_stats().faults_handled - s0.faults_handled, 2u);
    EXPECT_TRUE(x86::pkrs_rights(pks_context_rights(), key_relaxed) == PkeyRights::ReadWrite);
}

// ---- S7: global grants are lazy, revocations eager -------------------------------------------

namespace {
struct Remote {
    Page* page;
    sched::Completion ready, probe, probed;
    Atomic<u32> spinning, granted;
    bool read[3];
    u32 rights_before, rights_after;

    void reset(Page* p) {
        page = p;
        ready.reinit();
        probe.reinit();
        probed.reinit();
        spinning.store(0);
        granted.store(0);
        read[0] = read[1] = read[2] = false;
        rights_before = rights_after = 0;
    }
};

// On another CPU: a kmap_local mapping of the keyed page (nothing enabled),
// read once per step when told. Step 1 waits for the grant with interrupts
// off, so no switch and no interrupt can take it in before the read: the
// read's own fault must.
void remote_reader(void* arg) {
    auto* r = static_cast<Remote*>(arg);
    void* va = kmap_local_pfn(page_to_pfn(r->page));
    r->rights_before = pks_context_rights();
    r->ready.complete();
    for (unsigned s = 0; s < 3; ++s) {
        r->probe.wait();
        if (s == 1) {
            const u32 flags = x86::irq_save();
            r->spinning.store(1);
            while (!r->granted.load())
                x86::pause();
            r->read[s] = shows(va, r->page);
            x86::irq_restore(flags);
        } else {
            r->read[s] = shows(va, r->page);
        }
        r->probed.complete();
    }
    r->rights_after = pks_context_rights();
    kunmap_local(va);
}

u32 calls_received(unsigned c) { return __atomic_load_n(&x86::cpu_data[c].calls_received, __ATOMIC_RELAXED); }
} // namespace

KTEST(pks, s7_global_grant_sends_no_ipi_revoke_one_call_per_other_cpu) {
    if (x86::num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    NEED_KEYED_PAGES(pages, key_t, 1);
    ASSERT_TRUE(pkmap_test_reset());
    rec.reset();
    static Remote r;
    r.reset(pages[0]);
    sched::Task* t = sched::kthread_create(remote_reader, &r, "pks-remote", on_cpu(1));
    ASSERT_NOT_NULL(t);
    r.ready.wait();
    r.probe.complete();
    r.probed.wait();                                  // 0: denied
    u32 c0[x86::NR_CPUS];
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c)
        c0[c] = calls_received(c);
    const PksStats s0 = pks_stats();
    r.probe.complete();
    while (!r.spinning.load())
        x86::pause();
    void* pool = kmap(pages[1]);                      // a keyed page: a global grant
    u32 c1[x86::NR_CPUS];
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c)
        c1[c] = calls_received(c);
    r.granted.store(1);
    EXPECT_TRUE(writable(pool));
    r.probed.wait();                                  // 1: granted, taken in at its fault
    kunmap(pages[1]);                                 // the revocation
    u32 c2[x86::NR_CPUS];
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c)
        c2[c] = calls_received(c);
    r.probe.complete();
    r.probed.wait();                                  // 2: denied again
    sched::kthread_join(t);
    const PksStats s1 = pks_stats();
    EXPECT_FALSE(r.read[0]);
    EXPECT_TRUE(r.read[1]);
    EXPECT_FALSE(r.read[2]);
    EXPECT_EQ(s1.global_grants - s0.global_grants, 1u);
    EXPECT_EQ(s1.global_revokes - s0.global_revokes, 1u);
    EXPECT_GE(s1.faults_stale - s0.faults_stale, 1u);  // the lazy pickup was a fault
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c) {
        if (c == cpu())
            continue;
        EXPECT_EQ(c1[c] - c0[c], 0u);                 // grant: no IPI
        EXPECT_EQ(c2[c] - c1[c], 1u);                 // revoke: exactly one call each
    }
    EXPECT_EQ(r.rights_before, r.rights_after);       // a task's own rights untouched
    EXPECT_FALSE(readable(pool));                     // the slot stays mapped, closed
}

// ---- S8: kmap_local of a protected page opens it until its unmap -------------------------------

KTEST(pks, s8_kmap_local_page_opens_the_key_until_unmap_and_nests) {
    NEED_KEYED_PAGES(pages, key_t, 1);
    rec.reset();
    void* probe_va = kmap_local_pfn(page_to_pfn(pages[0]));   // opens nothing
    EXPECT_FALSE(readable(probe_va));
    void* outer = kmap_local_page(pages[0]);
    EXPECT_TRUE(writable(outer));
    EXPECT_TRUE(shows(probe_va, pages[0]));                   // the key is open for the thread
    void* inner = kmap_local_page(pages[1]);
    EXPECT_TRUE(writable(inner));
    kunmap_local(inner);
    EXPECT_TRUE(writable(outer));                            // still open: nested
    kunmap_local(outer);
    EXPECT_FALSE(readable(probe_va));                        // closed again
    kunmap_local(probe_va);
    EXPECT_EQ(kmap_local_depth(), 0);
}

// ---- the issue's own ------------------------------------------------------------------------

// The production user of a key: the pmem= domain (mm/pmem.h). Its pages are
// closed to everyone until a mapping opens them. Its key has no handler, so
// the mode decides: strict, a stray write fails (here without an oops: a
// nofault access) and leaves the page as it was; relaxed (the default), the
// first stray access WARNs and the faulting context goes on with access.
KTEST(pks, the_pmem_domain_is_closed_but_to_the_mappings_that_open_it) {
    if (!pmem_domain().pages)
        KTEST_SKIP("no pmem= domain on this boot");
    KTEST_EXPECT_WARN("pks.relaxed", 1);
    Page* page = pmem_alloc_page();
    ASSERT_NOT_NULL(page);
    AtScopeExit give_back([&] { pmem_free_page(page); });
    const unsigned key = pmem_domain().key;
    EXPECT_EQ(pks_page_key(page), key);
    {
        LocalMapping open(page);   // kmap_local_page: open for this task
        open.as<u32>()[0] = 0x9e3e0001u;
    }
    void* closed = kmap_local_pfn(page_to_pfn(page));
    pks_set_mode(PksMode::Strict);
    const bool read_strict = readable(closed);
    const bool wrote_strict = x86::nofault_write32(closed, 0xbad0bad0u).ok;
    pks_set_mode(PksMode::Relaxed);
    EXPECT_FALSE(read_strict);
    EXPECT_FALSE(wrote_strict);
    EXPECT_TRUE(readable(closed));                            // let through, with the WARN
    EXPECT_TRUE(x86::pkrs_rights(pks_context_rights(), key) != PkeyRights::NoAccess);
    pks_mk_noaccess(key);                                     // this task's own grant ends
    kunmap_local(closed);
    LocalMapping check(page);
    EXPECT_EQ(check.as<u32>()[0], 0x9e3e0001u);
}

KTEST(pks, a_stray_write_through_a_stale_kmap_address_is_caught_and_changes_nothing) {
    NEED_KEYED_PAGES(pages, key_t, 0);
    ASSERT_TRUE(pkmap_test_reset());
    rec.reset();
    auto* va = static_cast<u32*>(kmap(pages[0]));
    va[1] = 0x12345678;                                      // a legitimate write
    kunmap(pages[0]);                                        // the slot stays mapped (count 1)
    EXPECT_FALSE(x86::nofault_write32(va + 1, 0xbad0bad0).ok);   // the stray write
    EXPECT_EQ(rec.calls.load(), 1u);
    EXPECT_TRUE(rec.write);
    EXPECT_TRUE(rec.shared);
    LocalMapping check(pages[0]);
    EXPECT_EQ(check.as<u32>()[1], 0x12345678u);
    EXPECT_EQ(check.as<u32>()[0], word_of(page_to_pfn(pages[0]), 0));
}

namespace {
struct Holder {
    Page* page;
    sched::Completion mapped, done;
    bool open_before, open_after_preemptions;
    Atomic<u32> intruders_done{0};
    u32 preemptions;
    u64 spin_until;

    void reset(Page* p, u64 until) {
        page = p;
        mapped.reinit();
        done.reinit();
        open_before = open_after_preemptions = false;
        intruders_done.store(0);
        preemptions = 0;
        spin_until = until;
    }
};

void holder(void* arg) {
    auto* h = static_cast<Holder*>(arg);
    void* va = kmap_local_page(h->page);   // enables the key for this thread only
    h->open_before = writable(va);
    h->mapped.complete();
    // Preempted by the tick at least once (the intruder on this CPU runs
    // then), however long a busy host takes to deliver the ticks, up to a cap.
    const u32 p0 = sched::current()->preemptions;
    while ((sched::current()->preemptions == p0 || !h->intruders_done.load()) &&
           x86::now_ns() < h->spin_until)
        x86::pause();
    h->preemptions = sched::current()->preemptions - p0;
    h->open_after_preemptions = writable(va) && shows(va, h->page);
    h->done.wait();
    kunmap_local(va);
}

struct Intruder {
    Page* page;
    bool read = true;
};
void intruder(void* arg) {
    auto* i = static_cast<Intruder*>(arg);
    void* va = kmap_local_pfn(page_to_pfn(i->page));
    i->read = readable(va);
    kunmap_local(va);
}
} // namespace

KTEST(pks, a_thread_local_enable_opens_nothing_for_other_cpus_or_other_tasks_and_survives_preemption) {
    NEED_KEYED_PAGES(pages, key_t, 0);
    rec.reset();
    static Holder h;
    h.reset(pages[0], x86::now_ns() + 10'000'000'000ull);
    const unsigned a = other_cpu();
    sched::Task* t = sched::kthread_create(holder, &h, "pks-holder", on_cpu(a));
    ASSERT_NOT_NULL(t);
    h.mapped.wait();
    static Intruder same_cpu, other;
    same_cpu = {pages[0]};
    other = {pages[0]};
    sched::Task* i1 = sched::kthread_create(intruder, &same_cpu, "pks-same-cpu", on_cpu(a));
    sched::Task* i2 = sched::kthread_create(intruder, &other, "pks-other-cpu", on_cpu(0));
    ASSERT_NOT_NULL(i1);
    ASSERT_NOT_NULL(i2);
    sched::kthread_join(i1);
    sched::kthread_join(i2);
    h.intruders_done.store(1);
    h.done.complete();
    sched::kthread_join(t);
    EXPECT_TRUE(h.open_before);
    EXPECT_FALSE(same_cpu.read);
    EXPECT_FALSE(other.read);
    EXPECT_GE(h.preemptions, 1u);
    EXPECT_TRUE(h.open_after_preemptions);
}

KTEST(pks, global_enables_nest_per_key_and_the_last_disable_revokes) {
    NEED_KEYED_PAGES(pages, key_t, 1);
    ASSERT_TRUE(pkmap_test_reset());
    rec.reset();
    const PksStats s0 = pks_stats();
    void* a = kmap(pages[0]);
    void* b = kmap(pages[1]);                      // same key: nested, no second grant
    kunmap(pages[0]);
    EXPECT_TRUE(writable(a));                      // still granted: b holds the key
    EXPECT_TRUE(writable(b));
    kunmap(pages[1]);
    EXPECT_FALSE(readable(a));
    EXPECT_FALSE(readable(b));
    const PksStats s1 = pks_stats();
    EXPECT_EQ(s1.global_grants - s0.global_grants, 1u);
    EXPECT_EQ(s1.global_revokes - s0.global_revokes, 1u);
    EXPECT_EQ(pks_global_rights(), ~0u);
}

// A keyed page in a faultable region follows the global rights, and its
// secondary TLBs hear of the change like of any other (seeds/004).
namespace {
struct NotifierLog {
    Atomic<u32> calls{0};
    u32 last_start = 0, last_end = 0;
};
NotifierLog nlog;
void log_invalidation(SecondaryTlbNotifier&, u32 start, u32 end) {
    nlog.last_start = start;
    nlog.last_end = end;
    nlog.calls.fetch_add(1);
}
const SecondaryTlbOps logging_ops = {.invalidate_secondary_tlbs = log_invalidation};
} // namespace

KTEST(pks, a_keyed_page_in_a_region_follows_global_grants_and_notifies) {
    NEED_KEYED_PAGES(pages, key_t, 1);
    ASSERT_TRUE(pkmap_test_reset());
    rec.reset();
    test_support::Region region(1, "pks-region");
    ASSERT_NOT_NULL(region.r);
    SecondaryTlbNotifier n;
    test_support::NotifierRegistration listening(n, region, logging_ops);
    ASSERT_TRUE(listening.ok());
    Page* replaced = nullptr;
    ASSERT_TRUE(region_map_page(region.r, region.va(0), pages[0], true, &replaced));
    EXPECT_NULL(replaced);
    EXPECT_EQ(nlog.calls.load(), 0u);                   // mapped closed: no upgrade
    EXPECT_FALSE(region_page_present(*region.r, region.va(0)));
    kmap(pages[1]);                                     // grants the key: an upgrade
    EXPECT_EQ(nlog.calls.load(), 1u);
    EXPECT_EQ(nlog.last_start, region.va(0));
    EXPECT_TRUE(writable(region.at(0)));
    kunmap(pages[1]);                                   // revokes it: an invalidation
    EXPECT_EQ(nlog.calls.load(), 2u);
    EXPECT_FALSE(readable(region.at(0)));
    EXPECT_TRUE(region_unmap(region.r, region.va(0), PAGE_SIZE));   // not freed: still ours
    EXPECT_TRUE(is_highmem(pages[0]));
}

// ---- many switches, random rights, several CPUs ------------------------------------------------

namespace {
struct Churn {
    Atomic<u32> stop{0};
    Page* page;
    Atomic<u32> bad_access{0};
    Atomic<u32> ops{0};
};
Churn churn;

// Random enables and disables; after each, what the thread can do through
// its own mapping must be what its rights say.
void churner(void* arg) {
    Xorshift32 rng(0x9c5u + static_cast<u32>(reinterpret_cast<uintptr_t>(arg)));
    void* va = kmap_local_pfn(page_to_pfn(churn.page));
    unsigned depth = 0;
    while (!churn.stop.load(MemoryOrder::Relaxed)) {
        if (depth && rng.below(2)) {
            dev_page_disable_access(churn.page, false);
            --depth;
        } else if (depth < 3) {
            dev_page_enable_access(churn.page, false);
            ++depth;
        }
        const bool expect = depth > 0;
        if (readable(va) != expect)
            churn.bad_access.fetch_add(1);
        churn.ops.fetch_add(1, MemoryOrder::Relaxed);
        if (rng.below(4) == 0)
            sched::yield();
        x86::pause();
    }
    while (depth--)
        dev_page_disable_access(churn.page, false);
    kunmap_local(va);
}
} // namespace

KTEST(pks, rights_stay_right_across_many_switches_with_random_enables_on_every_cpu) {
    NEED_KEYED_PAGES(pages, key_t, 0);
    rec.reset();
    churn.stop.store(0);
    churn.bad_access.store(0);
    churn.ops.store(0);
    churn.page = pages[0];
    switch_check.checked.store(0);
    switch_check.wrong.store(0);
    sched::testing::TaskHooksGuard checking(register_checker);
    switch_check.armed.store(1);
    const unsigned ncpu = min(x86::num_online_cpus(), 4u);
    sched::Task* tasks[8] = {};
    for (unsigned i = 0; i < 2 * ncpu; ++i) {
        tasks[i] = sched::kthread_create(churner, reinterpret_cast<void*>(uintptr_t{i}), "pks-churn",
                                         on_cpu(i % ncpu));
        ASSERT_NOT_NULL(tasks[i]);
    }
    const u32 target = 100000 / ktest::stress_scale() * ktest::stress_scale();
    const u64 cap = x86::now_ns() + 20'000'000'000ull;
    while (switch_check.checked.load() < target && x86::now_ns() < cap)
        sched::sleep_ticks(2);
    churn.stop.store(1);
    for (unsigned i = 0; i < 2 * ncpu; ++i)
        sched::kthread_join(tasks[i]);
    switch_check.armed.store(0);
    EXPECT_EQ(churn.bad_access.load(), 0u);
    EXPECT_EQ(switch_check.wrong.load(), 0u);
    EXPECT_GE(switch_check.checked.load(), 10000u);
    ktest_ctx.diag("%u switches checked, %u rights changes, on %u CPUs", switch_check.checked.load(),
                   churn.ops.load(), ncpu);
}

// ---- strict mode ---------------------------------------------------------------------------------

namespace {
[[gnu::noinline]] void stray_read_in_strict_mode(Page* page) {
    auto* va = static_cast<volatile u32*>(kmap_local_pfn(page_to_pfn(page)));
    (void)*va;   // no access, and the mode does not forgive
}
} // namespace

// Run only by its own matrix entry, which boots with pks.mode=strict.
KTEST_CRASH(pks_strict_mode_oopses_on_a_violation, .site = "x86.exception.PF",
            .frames = "stray_read_in_strict_mode", .manual = true,
            .report = "protection key|pks: protection key") {
    BUG_ON(pks_mode() != PksMode::Strict);
    static KeyedPages pages(key_relaxed ? key_relaxed : pks_key_alloc("crash", nullptr), 0);
    BUG_ON(!pages.ok());
    stray_read_in_strict_mode(pages[0]);
}
