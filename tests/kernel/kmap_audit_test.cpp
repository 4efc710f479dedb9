// The kmap_atomic conversion audit (mm/kmap_audit.h), on examples with
// known answers: each is a kmap_atomic() section in a function of its own
// (so its row is that function's call site), and each must be classified
// exactly; any other verdict fails the case. Boot with kmap.audit in the
// debug build: tools/himem run --debug --append "kmap.audit ktest.filter=kmap_audit.*"
// (docs/highmem.md, "Auditing a conversion").
#include "arch/x86/nofault.h"
#include "arch/x86/time.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/faultable.h"
#include "mm/kmap_audit.h"
#include "mm/kmap_audit_testing.h"
#include "mm/kmap_local.h"
#include "mm/local_mapping.h"
#include "sched/sched.h"
#include "tests/kernel/helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using kmap_audit::Event;
using kmap_audit::Verdict;

KTEST_SUITE(kmap_audit);

namespace {

using test_support::Region;

constexpr unsigned RUNS = 8;

u32 count(const KmapAuditRow& row, Event e) { return row.count[static_cast<unsigned>(e)]; }

// A page, highmem when there is one: its own section's mapping.
Page* any_page() {
    Page* p = test_support::alloc_highuser_page();
    return p ? p : alloc_page(Gfp::Kernel);
}

// ---- the examples ----------------------------------------------------------------
// Each one is what a reviewer would find in a driver; noinline keeps its
// kmap_atomic call site inside it.

// 1. A plain copy into the page: nothing but the mapping. Convert as is.
[[gnu::noinline]] void example_plain_copy(Page* page, const u8* src, u32 n) {
    void* va = kmap_atomic(page);
    lib::memcpy(va, src, n);
    kunmap_atomic(va);
}

// 2. A per-CPU counter bumped inside the section: a read-modify-write that
// only preemption being off keeps whole. Convert, keeping preempt_disable().
u32 per_cpu_hits[x86::NR_CPUS];
[[gnu::noinline]] void example_per_cpu_counter(Page* page) {
    void* va = kmap_atomic(page);
    const u32 hits = ++per_cpu_hits[smp_processor_id()];
    *static_cast<u32*>(va) = hits;
    kunmap_atomic(va);
}

// 3. A nofault copy from a (user-like) region with a slow-path fallback:
// inside the section every word is read with a nofault access, which under
// kmap_atomic fails on a page not faulted in yet; the caller then takes the
// slow path (fault the page in, copy under kmap_local). Convert, keeping
// pagefault_disable().
[[gnu::noinline]] bool example_nofault_copy(Page* page, const Region& reg, u32 words) {
    bool ok = true;
    void* va = kmap_atomic(page);
    u32* dst = static_cast<u32*>(va);
    for (u32 i = 0; i < words && ok; ++i)
        ok = x86::nofault_read32(reg.at(4 * i), &dst[i]).ok;
    kunmap_atomic(va);
    return ok;
}
bool nofault_copy_with_fallback(Page* page, const Region& reg, u32 words) {
    if (example_nofault_copy(page, reg, words))
        return true;
    if (!fault_in_region(reg.at(0), 4 * words))   // the slow path
        return false;
    LocalMapping map(page);
    return copy_from_region(map.get(), reg.at(0), 4 * words) == 0;
}

// 4. A section that calls something that may sleep: the bug kmap_atomic hid
// ("scheduling while atomic"), harmless under kmap_local. Convert as is.
[[gnu::noinline]] void example_may_sleep(Page* page) {
    void* va = kmap_atomic(page);
    sched::sleep_ticks(1);
    *static_cast<u32*>(va) = 0x51ee9;
    kunmap_atomic(va);
}

// 5. seeds/000, the copy as it was written for kmap_atomic: the in-atomic
// copy fails on a page not yet present, the caller unmaps, faults it in and
// tries again. It depends on page faults being off (tglx: a dependency,
// not a requirement). Convert, keeping pagefault_disable().
[[gnu::noinline]] unsigned example_seed000_copy(Page* src, const Region& reg) {
    unsigned attempts = 0;
    for (;;) {
        ++attempts;
        void* va = kmap_atomic(src);
        const u32 left = copy_to_region_inatomic(reg.at(0), va, PAGE_SIZE);
        kunmap_atomic(va);
        if (left == 0 || attempts == 3)
            return attempts;
        fault_in_region(reg.at(0), PAGE_SIZE);
    }
}

// seeds/000 rewritten as tglx proposes, still under kmap_atomic: one plain
// copy, which may fault the page in and sleep. Nothing else depends on the
// side effects: convert as is (the sleep is what kmap_atomic forbade).
[[gnu::noinline]] u32 example_seed000_rewritten(Page* src, const Region& reg) {
    void* va = kmap_atomic(src);
    const u32 left = copy_to_region(reg.at(0), va, PAGE_SIZE);
    kunmap_atomic(va);
    return left;
}

// Sections that ask about their context and decide by the answer, which
// kmap_atomic fixed: "am I atomic?" (preemption), "are faults off?" (page
// faults), and both, which leaves nothing to gain: keep kmap_atomic.
u32 question_answers;
[[gnu::noinline]] void example_asks_in_atomic(Page* page) {
    void* va = kmap_atomic(page);
    if (sched::in_atomic() || !sched::preemptible())
        ++question_answers;
    kunmap_atomic(va);
}
[[gnu::noinline]] void example_asks_pagefault_disabled(Page* page) {
    void* va = kmap_atomic(page);
    if (sched::pagefault_disabled())
        ++question_answers;
    kunmap_atomic(va);
}
// Inlined into both of its callers, so that each is a call site of its own.
[[gnu::always_inline]] inline void ask_both(Page* page) {
    void* va = kmap_atomic(page);
    // Both asked (with && the second question would go unasked, and unseen).
    const bool atomic = sched::in_atomic();
    const bool no_faults = sched::pagefault_disabled();
    if (atomic && no_faults)
        ++question_answers;
    kunmap_atomic(va);
}
[[gnu::noinline]] void example_asks_both(Page* page) { ask_both(page); }
// The same questions, with the answers fixed by the section's own guards.
[[gnu::noinline]] void example_asks_both_under_its_own_guards(Page* page) {
    sched::PreemptGuard own;
    sched::PagefaultGuard own_too;
    ask_both(page);
}

// Nested: an outer section whose own code only copies, around an inner one
// that bumps the per-CPU counter. Events go to the innermost section.
[[gnu::noinline]] void example_inner_per_cpu(Page* page) {
    void* va = kmap_atomic(page);
    ++per_cpu_hits[smp_processor_id()];
    *static_cast<u32*>(va) = 1;
    kunmap_atomic(va);
}
[[gnu::noinline]] void example_outer_plain(Page* outer, Page* inner) {
    void* va = kmap_atomic(outer);
    lib::memset(va, 0x5a, 64);
    example_inner_per_cpu(inner);
    kunmap_atomic(va);
}

// ---- checking a row ----------------------------------------------------------------

// Fails the case unless the row of `fn`'s call site exists, ran `runs`
// times (0: at least once) and has exactly verdict `want`.
bool check_row(ktest::Context& ctx, const char* file, int line, const void* fn, const char* name,
               Verdict want, u32 runs, KmapAuditRow* out) {
    KmapAuditRow row;
    if (!testing::kmap_audit_row(fn, &row)) {
        ctx.fail(file, line, "no audit row for %s: kmap_atomic opened no audited section there",
                 name);
        return false;
    }
    *out = row;
    bool ok = true;
    if (runs ? row.runs != runs : row.runs == 0) {
        ctx.fail(file, line, "%s: %u runs, expected %u", name, row.runs, runs);
        ok = false;
    }
    if (row.verdict() != want) {
        ctx.fail(file, line, "%s: verdict \"%s\", expected \"%s\"", name,
                 kmap_audit::verdict_text(row.verdict()), kmap_audit::verdict_text(want));
        ok = false;
    }
    return ok;
}
#define CHECK_ROW(fn, want, runs, row)                                             \
    check_row(ktest_ctx, __FILE__, __LINE__, reinterpret_cast<const void*>(&fn), #fn, want, runs, \
              row)

#define NEEDS_AUDIT()                                                              \
    do {                                                                           \
        if (!kmap_audit_enabled())                                                 \
            KTEST_SKIP("needs kmap.audit on the command line (debug build)");      \
    } while (0)

// The source page of the copy examples, with a pattern.
Page* pattern_page(u32 seed) {
    Page* p = any_page();
    if (!p)
        return nullptr;
    LocalMapping m(p);
    for (u32 i = 0; i < PAGE_SIZE / 4; ++i)
        m.as<u32>()[i] = seed ^ (i * 2654435761u);
    return p;
}

} // namespace

// Without kmap.audit (every default boot, and the release build, which
// refuses it) kmap_atomic keeps its side effects: the audit changes nothing.
KTEST(kmap_audit, without_the_audit_kmap_atomic_keeps_its_side_effects) {
    if (kmap_audit_enabled())
        KTEST_SKIP("kmap.audit is on");
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    const u32 preempt = sched::preempt_count();
    void* va = kmap_atomic(page);
    EXPECT_EQ(sched::preempt_count(), preempt + 1);
    EXPECT_EQ(sched::current()->pagefault_disabled, 1u);
    kunmap_atomic(va);
    EXPECT_EQ(sched::preempt_count(), preempt);
    KmapAuditRow row;
    EXPECT_FALSE(testing::kmap_audit_row(reinterpret_cast<const void*>(&example_plain_copy), &row));
    free_page(page);
}

KTEST(kmap_audit, under_the_audit_kmap_atomic_disables_nothing) {
    NEEDS_AUDIT();
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    const u32 preempt = sched::preempt_count();
    void* va = kmap_atomic(page);
    EXPECT_EQ(sched::preempt_count(), preempt);
    EXPECT_EQ(sched::current()->pagefault_disabled, 0u);
    EXPECT_EQ(testing::kmap_audit_open_sections(), 1u);
    EXPECT_EQ(*static_cast<volatile u32*>(va), *static_cast<volatile u32*>(va));   // mapped
    kunmap_atomic(va);
    EXPECT_EQ(testing::kmap_audit_open_sections(), 0u);
    free_page(page);
}

// The negative control, in the suite and first: with recording off the
// examples all read "convert as is", which the checks of their own cases
// below refuse. (The matrix also boots ktest.kmap_audit_unrecorded, where
// those cases must fail.) Their rows start again from zero afterwards.
KTEST(kmap_audit, with_recording_off_every_verdict_reads_convert_as_is) {
    NEEDS_AUDIT();
    if (!testing::kmap_audit_recording())
        KTEST_SKIP("recording is off for the whole boot (ktest.kmap_audit_unrecorded)");
    Page* page = any_page();
    Page* src = pattern_page(0x0000c000);
    ASSERT_NOT_NULL(page);
    ASSERT_NOT_NULL(src);
    Region reg(1, "audit-control");
    Region reg2(1, "audit-control-2");
    ASSERT_NOT_NULL(reg.r);
    ASSERT_NOT_NULL(reg2.r);
    {
        testing::KmapAuditRecordingOff off;
        example_per_cpu_counter(page);
        EXPECT_TRUE(nofault_copy_with_fallback(page, reg, 4));
        example_may_sleep(page);
        EXPECT_EQ(example_seed000_copy(src, reg2), 2u);
    }
    struct Example {
        const void* fn;
        const char* name;
        Verdict real;
    };
    const Example examples[] = {
        {reinterpret_cast<const void*>(&example_per_cpu_counter), "per-CPU counter",
         Verdict::KeepPreemptDisable},
        {reinterpret_cast<const void*>(&example_nofault_copy), "nofault copy",
         Verdict::KeepPagefaultDisable},
        {reinterpret_cast<const void*>(&example_may_sleep), "may sleep", Verdict::ConvertAsIs},
        {reinterpret_cast<const void*>(&example_seed000_copy), "seeds/000 copy",
         Verdict::KeepPagefaultDisable},
    };
    for (const Example& e : examples) {
        KmapAuditRow row;
        ASSERT_TRUE(testing::kmap_audit_row(e.fn, &row));
        EXPECT_GE(row.runs, 1u);
        EXPECT_EQ(row.seen(), 0u);
        EXPECT_EQ(row.verdict(), Verdict::ConvertAsIs);
        // What the example's own case checks fails on this row (unless its
        // real verdict is "convert as is": that case checks its events too).
        ktest::Context scratch = ktest::Context::capture(e.name);
        const bool accepted = check_row(scratch, __FILE__, __LINE__, e.fn, e.name, e.real, 0, &row);
        EXPECT_EQ(accepted, e.real == Verdict::ConvertAsIs);
        testing::kmap_audit_forget(e.fn);
    }
    free_page(page);
    free_page(src);
}

KTEST(kmap_audit, plain_copy_converts_as_is) {
    NEEDS_AUDIT();
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    u8 src[256];
    for (u32 i = 0; i < sizeof(src); ++i)
        src[i] = static_cast<u8>(i * 7);
    for (unsigned i = 0; i < RUNS; ++i)
        example_plain_copy(page, src, sizeof(src));
    {
        LocalMapping m(page);
        EXPECT_EQ(lib::memcmp(m.get(), src, sizeof(src)), 0);
    }
    KmapAuditRow row;
    if (CHECK_ROW(example_plain_copy, Verdict::ConvertAsIs, RUNS, &row))
        EXPECT_EQ(row.seen(), 0u);
    free_page(page);
}

KTEST(kmap_audit, per_cpu_counter_keeps_preemption_off) {
    NEEDS_AUDIT();
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    for (unsigned i = 0; i < RUNS; ++i)
        example_per_cpu_counter(page);
    KmapAuditRow row;
    if (CHECK_ROW(example_per_cpu_counter, Verdict::KeepPreemptDisable, RUNS, &row)) {
        EXPECT_EQ(count(row, Event::PercpuAccess), RUNS);
        // First seen in smp_processor_id(), called from the example.
        EXPECT_TRUE(row.first[static_cast<unsigned>(Event::PercpuAccess)][1] -
                        reinterpret_cast<u32>(&example_per_cpu_counter) < 0x200);
    }
    free_page(page);
}

KTEST(kmap_audit, nofault_copy_with_a_slow_path_keeps_page_faults_off) {
    NEEDS_AUDIT();
    Region reg(1, "audit-nofault");
    ASSERT_NOT_NULL(reg.r);
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    constexpr u32 WORDS = 16;
    for (unsigned i = 0; i < RUNS; ++i)
        EXPECT_TRUE(nofault_copy_with_fallback(page, reg, WORDS));
    KmapAuditRow row;
    if (CHECK_ROW(example_nofault_copy, Verdict::KeepPagefaultDisable, RUNS, &row)) {
        EXPECT_EQ(count(row, Event::NofaultAccess), RUNS * WORDS);
        // The first word's fault: kmap_atomic would have failed it; the
        // section, as kmap_local runs it, has it resolved instead.
        EXPECT_EQ(count(row, Event::FaultResolved), 1u);
    }
    free_page(page);
}

KTEST(kmap_audit, a_call_that_may_sleep_is_the_bug_kmap_atomic_hid) {
    NEEDS_AUDIT();
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    for (unsigned i = 0; i < 2; ++i)
        example_may_sleep(page);
    KmapAuditRow row;
    if (CHECK_ROW(example_may_sleep, Verdict::ConvertAsIs, 2, &row)) {
        EXPECT_EQ(count(row, Event::MaySleep), 2u);
        EXPECT_EQ(count(row, Event::Slept), 2u);
        EXPECT_GE(row.switches_meanwhile, 2u);   // at least the idle task ran
    }
    free_page(page);
}

KTEST(kmap_audit, seed000_copy_keeps_page_faults_off) {
    NEEDS_AUDIT();
    Region reg(1, "audit-seed000");
    ASSERT_NOT_NULL(reg.r);
    Page* src = pattern_page(0x0000a000);
    ASSERT_NOT_NULL(src);
    EXPECT_EQ(example_seed000_copy(src, reg), 2u);   // fails, faults in, succeeds
    KmapAuditRow row;
    if (CHECK_ROW(example_seed000_copy, Verdict::KeepPagefaultDisable, 2, &row)) {
        EXPECT_EQ(count(row, Event::InatomicCopy), 2u);
        EXPECT_EQ(count(row, Event::FixupFaultsOff), 1u);
    }
    free_page(src);
}

KTEST(kmap_audit, seed000_rewritten_as_a_plain_copy_converts_as_is) {
    NEEDS_AUDIT();
    Region reg(1, "audit-seed000-new");
    ASSERT_NOT_NULL(reg.r);
    Page* src = pattern_page(0x0000b000);
    ASSERT_NOT_NULL(src);
    EXPECT_EQ(example_seed000_rewritten(src, reg), 0u);   // one pass
    KmapAuditRow row;
    if (CHECK_ROW(example_seed000_rewritten, Verdict::ConvertAsIs, 1, &row)) {
        EXPECT_GE(count(row, Event::MaySleep), 1u);
        EXPECT_EQ(count(row, Event::FaultResolved), 1u);
    }
    free_page(src);
}

KTEST(kmap_audit, questions_about_the_context_decide_by_the_side_effects) {
    NEEDS_AUDIT();
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    question_answers = 0;
    example_asks_in_atomic(page);
    example_asks_pagefault_disabled(page);
    example_asks_both(page);
    EXPECT_EQ(question_answers, 0u);   // every answer changed: nothing disabled any more
    KmapAuditRow row;
    if (CHECK_ROW(example_asks_in_atomic, Verdict::KeepPreemptDisable, 1, &row)) {
        EXPECT_EQ(count(row, Event::InAtomicAsked), 1u);
        EXPECT_EQ(count(row, Event::PreemptibleAsked), 1u);
    }
    if (CHECK_ROW(example_asks_pagefault_disabled, Verdict::KeepPagefaultDisable, 1, &row))
        EXPECT_EQ(count(row, Event::PagefaultAsked), 1u);
    if (CHECK_ROW(example_asks_both, Verdict::KeepKmapAtomic, 1, &row)) {
        EXPECT_EQ(count(row, Event::InAtomicAsked), 1u);
        EXPECT_EQ(count(row, Event::PagefaultAsked), 1u);
    }
    // Asked with the answer fixed by the section itself, the same questions
    // depend on nothing: only kmap_atomic's difference counts.
    // (A call site of its own, so the end-of-run report keeps both rows.)
    example_asks_both_under_its_own_guards(page);
    if (CHECK_ROW(example_asks_both_under_its_own_guards, Verdict::ConvertAsIs, 1, &row))
        EXPECT_EQ(row.seen(), 0u);
    EXPECT_EQ(question_answers, 1u);
    free_page(page);
}

KTEST(kmap_audit, nested_sections_charge_the_innermost) {
    NEEDS_AUDIT();
    Page* outer = any_page();
    Page* inner = any_page();
    ASSERT_NOT_NULL(outer);
    ASSERT_NOT_NULL(inner);
    example_outer_plain(outer, inner);
    KmapAuditRow row;
    CHECK_ROW(example_outer_plain, Verdict::ConvertAsIs, 1, &row);
    CHECK_ROW(example_inner_per_cpu, Verdict::KeepPreemptDisable, 1, &row);
    free_page(outer);
    free_page(inner);
}

namespace {

struct Rival {
    Atomic<bool> stop{false};
    Atomic<u32> spins{0};
};

void rival_fn(void* arg) {
    auto* r = static_cast<Rival*>(arg);
    while (!r->stop.load()) {
        sched::PreemptGuard same_cpu;
        ++per_cpu_hits[smp_processor_id()];
        r->spins.fetch_add(1);
    }
}

// The per-CPU example held open until the tick preempts it.
[[gnu::noinline]] bool example_preempted_per_cpu(Page* page) {
    void* va = kmap_atomic(page);
    const u32 before = sched::current()->preemptions;
    const u32 hits = per_cpu_hits[smp_processor_id()];
    const u64 deadline = x86::now_ns() + 3000000000ull;
    while (sched::current()->preemptions == before && x86::now_ns() < deadline)
        x86::pause();
    per_cpu_hits[x86::this_cpu_index()] = hits + 1;   // the update the rival's may be lost to
    *static_cast<u32*>(va) = hits;
    kunmap_atomic(va);
    return sched::current()->preemptions != before;
}

} // namespace

// A preemption kmap_atomic would have prevented, with what ran meanwhile on
// that CPU: the rival that bumps the same per-CPU counter.
KTEST(kmap_audit, a_preemption_names_who_ran_meanwhile) {
    NEEDS_AUDIT();
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    const unsigned cpu = x86::this_cpu_index();
    sched::set_cpus_allowed(x86::cpu_bit(cpu));
    static Rival rival;
    rival.stop.store(false);
    sched::KthreadOptions here;
    here.allowed = x86::cpu_bit(cpu);
    here.cpu = static_cast<int>(cpu);
    sched::Task* t = sched::kthread_create(rival_fn, &rival, "audit-rival", here);
    ASSERT_NOT_NULL(t);
    const bool preempted = example_preempted_per_cpu(page);
    rival.stop.store(true);
    sched::kthread_join(t);
    sched::set_cpus_allowed(~0u);
    EXPECT_TRUE(preempted);
    KmapAuditRow row;
    if (CHECK_ROW(example_preempted_per_cpu, Verdict::KeepPreemptDisable, 1, &row)) {
        EXPECT_EQ(count(row, Event::Preempted), 1u);
        EXPECT_EQ(count(row, Event::Migrated), 0u);   // kmap_local's migrate_disable held
        bool named = false;
        for (unsigned i = 0; i < min(row.nr_ran, KmapAuditRow::MAX_NAMES); ++i)
            named |= lib::strcmp(row.ran[i], "audit-rival") == 0;
        EXPECT_TRUE(named);
    }
    free_page(page);
}

namespace {

struct Collected {
    char text[4096];
    size_t used;
    unsigned lines;
};
void collect(void* context, const char* line) {
    auto* c = static_cast<Collected*>(context);
    c->used += lib::strlcpy(c->text + c->used, line, sizeof(c->text) - c->used);
    if (c->used + 1 < sizeof(c->text))
        c->text[c->used++] = '\n';
    c->text[min(c->used, sizeof(c->text) - 1)] = '\0';
    ++c->lines;
}

// Whether some line of `text` contains both `a` and `b`.
bool line_has(const char* text, const char* a, const char* b) {
    char line[400];
    while (*text) {
        size_t n = 0;
        while (text[n] && text[n] != '\n')
            ++n;
        lib::strlcpy(line, text, min(n + 1, sizeof(line)));
        if (lib::strstr(line, a) && lib::strstr(line, b))
            return true;
        text += n + (text[n] == '\n');
    }
    return false;
}

} // namespace

// The report on demand: a row line per call site naming the function and
// its verdict, and an event line with its first place.
KTEST(kmap_audit, the_report_names_each_site_and_its_verdict) {
    NEEDS_AUDIT();
    Page* page = any_page();
    ASSERT_NOT_NULL(page);
    example_per_cpu_counter(page);
    free_page(page);
    static Collected c;
    c = {};
    kmap_audit_report(collect, &c);
    EXPECT_GE(c.lines, 3u);
    EXPECT_TRUE(line_has(c.text, "kmap_audit: report: ", "call sites, recording on"));
    EXPECT_TRUE(line_has(c.text, " at example_per_cpu_counter+0x",
                         ": convert, keeping preempt_disable()"));
    EXPECT_TRUE(line_has(c.text, "percpu_access x", "(preemption), first at sched::smp_processor_id_checked+0x"));
    EXPECT_TRUE(line_has(c.text, "kmap_audit: end of report", ""));
}
