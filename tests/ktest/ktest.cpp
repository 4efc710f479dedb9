// The ktest runner: selection, KTAP output, WARN capture, the closing line.
#include "tests/ktest/ktest.h"

#include <stdarg.h>

#include "arch/x86/backtrace.h"
#include "arch/x86/cpu.h"
#include "arch/x86/debug_exit.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/bug.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "sched/mutex.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"

extern "C" const ktest::Suite __start_ktest_suites[];
extern "C" const ktest::Suite __stop_ktest_suites[];
extern "C" const ktest::Case __start_ktest_cases[];
extern "C" const ktest::Case __stop_ktest_cases[];
extern "C" const ktest::CrashCase __start_ktest_crashes[];
extern "C" const ktest::CrashCase __stop_ktest_crashes[];
extern "C" const ktest::LeakCheck __start_ktest_leak_checks[];
extern "C" const ktest::LeakCheck __stop_ktest_leak_checks[];

namespace ktest {

// ---- Context ---------------------------------------------------------------

Context::Context(const char* name, unsigned indent, bool capture)
    : m_name(name), m_indent(indent), m_capturing(capture) {}

Context::Context(const Case& c, unsigned indent) : Context(c.name, indent, false) {}

Context Context::capture(const char* name) { return Context(name, 0, true); }

void Context::emit(const char* line) {
    if (m_capturing) {
        const size_t n = lib::strlen(line);
        if (m_capture_len + n + 1 < CAPTURE_BYTES) {
            lib::memcpy(m_capture + m_capture_len, line, n);
            m_capture_len += n;
            m_capture[m_capture_len++] = '\n';
            m_capture[m_capture_len] = '\0';
        }
        return;
    }
    printk("%*s%s\n", static_cast<int>(m_indent), "", line);
}

void Context::diag(const char* fmt, ...) {
    char text[DIAG_BYTES];
    char line[DIAG_BYTES + 2];
    va_list ap;
    va_start(ap, fmt);
    lib::vformat(text, sizeof(text), fmt, ap);
    va_end(ap);
    lib::format(line, sizeof(line), "# %s", text);
    emit(line);
}

void Context::report_failure(CheckKind kind, const char* file, int line) {
    m_failed = true;
    diag("%s: %s FAILED at %s:%d", m_name,
         kind == CheckKind::Assertion ? "ASSERTION" : "EXPECTATION", file, line);
}

void Context::fail(const char* file, int line, const char* fmt, ...) {
    char text[DIAG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    lib::vformat(text, sizeof(text), fmt, ap);
    va_end(ap);
    report_failure(CheckKind::Expectation, file, line);
    diag("%s", text);
}

void Context::skip(const char* reason) {
    m_skipped = true;
    lib::strlcpy(m_skip_reason, reason, sizeof(m_skip_reason));
}

void Context::expect_warn(const char* site_id, unsigned hits) {
    for (unsigned i = 0; i < m_expected_count; ++i) {
        if (lib::strcmp(m_expected[i].id, site_id) == 0) {
            m_expected[i].hits += hits;
            return;
        }
    }
    if (m_expected_count == MAX_EXPECTED_WARNS) {
        report_failure(CheckKind::Expectation, __FILE__, __LINE__);
        diag("too many expected WARN sites (max %u)", MAX_EXPECTED_WARNS);
        return;
    }
    m_expected[m_expected_count++] = {site_id, hits};
}

void run_body(TestFn fn, Context& ctx) { fn(ctx); }

// ---- value descriptions ----------------------------------------------------

ValueText describe_signed(long long v) {
    ValueText t;
    lib::format(t.text, sizeof(t.text), "%lld (%#llx)", v, static_cast<unsigned long long>(v));
    return t;
}

ValueText describe_unsigned(unsigned long long v) {
    ValueText t;
    lib::format(t.text, sizeof(t.text), "%llu (%#llx)", v, v);
    return t;
}

ValueText describe_pointer(const void* p) {
    ValueText t;
    if (p)
        lib::format(t.text, sizeof(t.text), "%p", p);
    else
        lib::strlcpy(t.text, "null", sizeof(t.text));
    return t;
}

ValueText describe_string(const char* s) {
    ValueText t;
    if (s)
        lib::format(t.text, sizeof(t.text), "\"%.56s\"%s", s, lib::strlen(s) > 56 ? "..." : "");
    else
        lib::strlcpy(t.text, "null", sizeof(t.text));
    return t;
}

bool check_bool(Context& ctx, CheckKind kind, const char* file, int line, const char* text,
                bool value, bool expected) {
    if (value == expected)
        return true;
    ctx.report_failure(kind, file, line);
    ctx.diag("Expected %s to be %s, but is %s", text, expected ? "true" : "false",
             value ? "true" : "false");
    return false;
}

bool check_str(Context& ctx, CheckKind kind, const char* file, int line, const char* ta,
               const char* tb, const char* a, const char* b, bool want_equal) {
    const bool equal = a && b ? lib::strcmp(a, b) == 0 : a == b;
    if (equal == want_equal)
        return true;
    ctx.report_failure(kind, file, line);
    ctx.diag("Expected %s %s %s, but", ta, want_equal ? "==" : "!=", tb);
    ctx.diag("    %s == %s", ta, describe_string(a).text);
    ctx.diag("    %s == %s", tb, describe_string(b).text);
    return false;
}

// ---- WARN capture ------------------------------------------------------------

namespace {

constexpr unsigned MAX_TRACKED_SITES = 256;

struct WarnSnapshot {
    const WarnSite* site[MAX_TRACKED_SITES];
    u32 hits[MAX_TRACKED_SITES];
    unsigned count = 0;

    void take() {
        count = 0;
        warn::for_each_site([&](const WarnSite& s) {
            if (count < MAX_TRACKED_SITES) {
                site[count] = &s;
                hits[count++] = s.hits.load();
            }
        });
    }

    u32 before(const WarnSite& s) const {
        for (unsigned i = 0; i < count; ++i)
            if (site[i] == &s)
                return hits[i];
        return 0;   // enrolled during the case
    }
};

WarnSnapshot warn_snapshot;

// Compare what fired during the case with what it declared.
void judge_warns(Context& ctx) {
    unsigned n_expected = 0;
    const Context::ExpectedWarn* expected = ctx.expected_warns(&n_expected);

    for (unsigned i = 0; i < n_expected; ++i) {
        u32 fired = 0;
        warn::for_each_site([&](const WarnSite& s) {
            if (lib::strcmp(s.id, expected[i].id) == 0)
                fired += s.hits.load() - warn_snapshot.before(s);
        });
        if (fired != expected[i].hits) {
            ctx.report_failure(CheckKind::Expectation, __FILE__, __LINE__);
            ctx.diag("expected WARN site %s to fire %u time(s), but it fired %u time(s)",
                     expected[i].id, expected[i].hits, fired);
        }
    }
    warn::for_each_site([&](const WarnSite& s) {
        const u32 fired = s.hits.load() - warn_snapshot.before(s);
        if (fired == 0)
            return;
        for (unsigned i = 0; i < n_expected; ++i)
            if (lib::strcmp(s.id, expected[i].id) == 0)
                return;
        ctx.report_failure(CheckKind::Expectation, s.file, s.line);
        ctx.diag("unexpected WARN at site %s (%u hit(s))", s.id, fired);
    });
}

// ---- selection ----------------------------------------------------------------

constexpr unsigned MAX_SUITES = 128;
constexpr unsigned MAX_CASES_PER_SUITE = 128;

bool selected_by(const Case& c, const char* pattern) {
    if (c.suite->manual && lib::strncmp(pattern, c.suite->name, lib::strlen(c.suite->name)) != 0)
        return false;
    char full[128];
    lib::format(full, sizeof(full), "%s.%s", c.suite->name, c.name);
    return lib::glob_match(pattern, full);
}

// The filter is one glob or several separated by commas ("smp.*,tlb.*").
bool selected(const Case& c, const char* filter) {
    if (!lib::strchr(filter, ','))
        return selected_by(c, filter);
    char pattern[128];
    for (const char* p = filter; *p;) {
        const char* end = p;
        while (*end && *end != ',')
            ++end;
        const size_t n = static_cast<size_t>(end - p) < sizeof(pattern) - 1
                             ? static_cast<size_t>(end - p) : sizeof(pattern) - 1;
        lib::memcpy(pattern, p, n);
        pattern[n] = '\0';
        if (n && selected_by(c, pattern))
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

// Suites in name order, so the output does not depend on link order.
unsigned sorted_suites(const Suite** out) {
    unsigned n = 0;
    for (const Suite* s = __start_ktest_suites; s < __stop_ktest_suites && n < MAX_SUITES; ++s) {
        unsigned i = n++;
        while (i > 0 && lib::strcmp(out[i - 1]->name, s->name) > 0) {
            out[i] = out[i - 1];
            --i;
        }
        out[i] = s;
    }
    return n;
}

// A suite's selected cases in source order (by line: a suite lives in one file).
unsigned cases_of(const Suite& suite, const char* filter, const Case** out) {
    unsigned n = 0;
    for (const Case* c = __start_ktest_cases; c < __stop_ktest_cases; ++c) {
        if (c->suite != &suite || !selected(*c, filter))
            continue;
        if (n == MAX_CASES_PER_SUITE) {
            printk("ktest: suite %s has more than %u cases; the rest are not run\n", suite.name,
                   MAX_CASES_PER_SUITE);
            break;
        }
        unsigned i = n++;
        while (i > 0 && out[i - 1]->line > c->line) {
            out[i] = out[i - 1];
            --i;
        }
        out[i] = c;
    }
    return n;
}

enum class Outcome { Pass, Fail, Skip };


// Checks, in the case's own thread after its body, that it left nothing
// behind; a leak fails the case and is repaired so the run goes on.
void check_leaks(Context& ctx) {
    sched::Task* me = sched::current();
    const u32 count = sched::preempt_count();
    if (count != 0) {
        ctx.fail(__FILE__, __LINE__, "leak: preempt count %#x at the end of the case (a "
                 "preempt_disable() or a spinlock not released)", count);
        __atomic_store_n(&x86::this_cpu()->preempt_count, 0, __ATOMIC_RELAXED);
    }
    if (!x86::irqs_enabled()) {
        ctx.fail(__FILE__, __LINE__, "leak: interrupts left disabled");
        x86::sti();
    }
    if (me->migrate_disable) {
        ctx.fail(__FILE__, __LINE__, "leak: migrate_disable count %u", me->migrate_disable);
        me->migrate_disable = 0;
    }
    if (me->pagefault_disabled) {
        ctx.fail(__FILE__, __LINE__, "leak: pagefault_disable count %u", me->pagefault_disabled);
        me->pagefault_disabled = 0;
    }
    if (me->mutexes_held)
        ctx.fail(__FILE__, __LINE__, "leak: %u mutex(es) still held", me->mutexes_held);
    for (const LeakCheck* c = __start_ktest_leak_checks; c < __stop_ktest_leak_checks; ++c)
        c->check(ctx);
}

struct CaseRun {
    const Case* c;
    Context* ctx;
};

void case_thread(void* arg) {
    auto* run = static_cast<CaseRun*>(arg);
    run_body(run->c->fn, *run->ctx);
    check_leaks(*run->ctx);
}

// ---- the run's state, shared with the watchdog ----------------------------------

struct RunState {
    const Suite* suites[MAX_SUITES];
    unsigned n_suites = 0;
    const Case* cases[MAX_CASES_PER_SUITE];
    unsigned n_cases = 0;
    const char* filter = "*";
    unsigned suite_index = 0;     // into suites[]
    unsigned suite_number = 0;    // KTAP number of the current suite
    unsigned case_number = 0;     // KTAP number of the running case, 0 between cases
    Summary suite_counts;
    Summary total;
    bool misreport_closing = false;
};
RunState state;

// Milliseconds since boot (TSC time, which keeps going when CPU 0 is stuck
// with interrupts off and its ticks stop); 0: disarmed.
Atomic<u32> watchdog_deadline_ms{0};
Atomic<u32> watchdog_fired{0};
Atomic<u32> watchdog_kept_alive{0};   // the case has called keep_alive()
unsigned watchdog_timeout_s = 60;

u32 now_ms() { return static_cast<u32>(x86::now_ns() / 1000000); }
u32 watchdog_deadline_from_now() { return now_ms() + watchdog_timeout_s * 1000 + 1; }

void print_backtrace_answer(unsigned, const char* text) { printk("%s", text); }

void (*closing_notes[4])();

void print_closing(const Summary& total) {
    for (auto note : closing_notes)
        if (note)
            note();
    printk("# Totals: pass:%u fail:%u skip:%u total:%u\n", total.passed, total.failed,
           total.skipped, total.passed + total.failed + total.skipped);
    const unsigned shown_passed = total.passed + (state.misreport_closing ? 1 : 0);
    printk("%u passed, %u failed, %u skipped\n", shown_passed, total.failed, total.skipped);
}

// The watchdog: a case ran past its time limit. Called from a timer tick,
// on whichever CPU noticed first. It reports where every CPU is, finishes the
// KTAP output so that it stays whole, and ends the run with the fail status.
[[noreturn]] void watchdog_fire(x86::InterruptFrame& frame) {
    lib::console_break_lock();   // the hung CPU may hold it
    const Case* c = state.cases[state.case_number - 1];
    printk("    # %s: TIMEOUT: %s %u s; the call traces of every CPU follow\n", c->name,
           watchdog_kept_alive.load() ? "no progress reported for" : "still running after",
           watchdog_timeout_s);
    printk("Watchdog on CPU %u, interrupted at:\n", x86::this_cpu_index());
    x86::print_backtrace(frame.eip, frame.ebp);
    x86::smp_backtrace_other_cpus(print_backtrace_answer);
    sched::dump_tasks();
    printk("    not ok %u %s # TIMEOUT\n", state.case_number, c->name);
    state.suite_counts.failed++;
    for (unsigned k = state.case_number; k < state.n_cases; ++k) {
        printk("    ok %u %s # SKIP the run was ended by the watchdog\n", k + 1, state.cases[k]->name);
        state.suite_counts.skipped++;
    }
    const Suite& suite = *state.suites[state.suite_index];
    printk("# %s: pass:%u fail:%u skip:%u total:%u\n", suite.name, state.suite_counts.passed,
           state.suite_counts.failed, state.suite_counts.skipped, state.n_cases);
    printk("not ok %u %s\n", state.suite_number, suite.name);
    state.total.passed += state.suite_counts.passed;
    state.total.failed += state.suite_counts.failed;
    state.total.skipped += state.suite_counts.skipped;
    unsigned number = state.suite_number;
    for (unsigned i = state.suite_index + 1; i < state.n_suites; ++i) {
        const unsigned n = cases_of(*state.suites[i], state.filter, state.cases);
        if (n == 0)
            continue;
        printk("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", state.suites[i]->name, n);
        for (unsigned k = 0; k < n; ++k)
            printk("    ok %u %s # SKIP the run was ended by the watchdog\n", k + 1,
                   state.cases[k]->name);
        printk("# %s: pass:0 fail:0 skip:%u total:%u\n", state.suites[i]->name, n, n);
        printk("ok %u %s # SKIP the run was ended by the watchdog\n", ++number, state.suites[i]->name);
        state.total.skipped += n;
    }
    print_closing(state.total);
    x86::debug_exit(x86::ExitCode::Fail);
}

void watchdog_tick(x86::InterruptFrame& frame) {
    const u32 deadline = watchdog_deadline_ms.load(MemoryOrder::Relaxed);
    if (deadline && now_ms() > deadline && watchdog_fired.exchange(1) == 0)
        watchdog_fire(frame);
}

Outcome run_case(const Case& c, unsigned number, bool suite_ready) {
    Context ctx(c, 4);
    if (!suite_ready) {
        ctx.diag("%s: suite init failed; case not run", c.name);
        printk("    not ok %u %s\n", number, c.name);
        return Outcome::Fail;
    }
    warn_snapshot.take();
    // Each case runs in its own thread on CPU 0 (tests may move themselves).
    CaseRun run{&c, &ctx};
    sched::KthreadOptions opts;
    opts.allowed = x86::cpu_bit(0);
    opts.cpu = 0;
    char name[24];
    lib::format(name, sizeof(name), "kt:%s", c.name);
    state.case_number = number;
    watchdog_kept_alive.store(0);
    watchdog_deadline_ms.store(watchdog_deadline_from_now());
    sched::Task* t = sched::kthread_create(case_thread, &run, name, opts);
    if (t)
        sched::kthread_join(t);
    else
        ctx.fail(__FILE__, __LINE__, "could not create the case's thread");
    watchdog_deadline_ms.store(0);
    state.case_number = 0;
    judge_warns(ctx);

    if (ctx.failed()) {
        printk("    not ok %u %s\n", number, c.name);
        return Outcome::Fail;
    }
    if (ctx.skipped()) {
        printk("    ok %u %s # SKIP %s\n", number, c.name, ctx.skip_reason());
        return Outcome::Skip;
    }
    printk("    ok %u %s\n", number, c.name);
    return Outcome::Pass;
}

} // namespace

// ---- the runner -------------------------------------------------------------------

unsigned current_stress = 1;
unsigned current_bench_ops = 100000;
unsigned current_bench_passes = 5;
unsigned current_soak_seconds = 10;

unsigned bench_ops() { return current_bench_ops; }
unsigned bench_passes() { return current_bench_passes; }
unsigned soak_seconds() { return current_soak_seconds; }

void add_closing_note(void (*note)()) {
    for (auto& slot : closing_notes) {
        void (*seen)() = __atomic_load_n(&slot, __ATOMIC_ACQUIRE);
        if (seen == note)
            return;
        if (!seen && __atomic_compare_exchange_n(&slot, &seen, note, false, __ATOMIC_ACQ_REL,
                                                 __ATOMIC_ACQUIRE))
            return;
        if (seen == note)
            return;
    }
}

void keep_alive() {
    // Only while a case runs: the runner disarms the watchdog between cases.
    u32 deadline = watchdog_deadline_ms.load();
    if (deadline && watchdog_deadline_ms.compare_exchange(deadline, watchdog_deadline_from_now()))
        watchdog_kept_alive.store(1);
}

Summary run(const Options& options) {
    current_bench_ops = options.bench_ops ? options.bench_ops : 1;
    current_bench_passes = options.bench_passes ? options.bench_passes : 1;
    current_soak_seconds = options.soak_seconds ? options.soak_seconds : 1;
    state.filter = options.filter;
    state.misreport_closing = options.misreport_closing;
    current_stress = options.stress ? options.stress : 1;
    watchdog_timeout_s = options.timeout_s ? options.timeout_s : 60;
    sched::add_tick_observer(watchdog_tick);
    state.n_suites = sorted_suites(state.suites);

    unsigned plan = 0;
    for (unsigned i = 0; i < state.n_suites; ++i)
        if (cases_of(*state.suites[i], state.filter, state.cases) > 0)
            ++plan;

    printk("KTAP version 1\n1..%u\n", plan);
    if (plan == 0)
        printk("# ktest: no test matches filter '%s'\n", state.filter);

    for (unsigned i = 0; i < state.n_suites; ++i) {
        const Suite& suite = *state.suites[i];
        const unsigned n = cases_of(suite, state.filter, state.cases);
        if (n == 0)
            continue;
        state.suite_index = i;
        state.n_cases = n;
        ++state.suite_number;
        state.suite_counts = {};
        printk("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", suite.name, n);
        bool ready = true;
        if (suite.init && suite.init() != 0) {
            printk("    # %s: suite init failed\n", suite.name);
            ready = false;
        }
        Summary& s = state.suite_counts;
        for (unsigned k = 0; k < n; ++k) {
            switch (run_case(*state.cases[k], k + 1, ready)) {
            case Outcome::Pass: ++s.passed; break;
            case Outcome::Fail: ++s.failed; break;
            case Outcome::Skip: ++s.skipped; break;
            }
        }
        if (ready && suite.exit)
            suite.exit();
        printk("# %s: pass:%u fail:%u skip:%u total:%u\n", suite.name, s.passed, s.failed,
               s.skipped, n);
        if (s.failed)
            printk("not ok %u %s\n", state.suite_number, suite.name);
        else if (s.passed == 0)
            printk("ok %u %s # SKIP all cases skipped\n", state.suite_number, suite.name);
        else
            printk("ok %u %s\n", state.suite_number, suite.name);
        state.total.passed += s.passed;
        state.total.failed += s.failed;
        state.total.skipped += s.skipped;
    }
    sched::remove_tick_observer(watchdog_tick);
    print_closing(state.total);
    return state.total;
}

void list(const char* filter) {
    static const Suite* suites[MAX_SUITES];
    static const Case* cases[MAX_CASES_PER_SUITE];
    const unsigned n_suites = sorted_suites(suites);
    unsigned total = 0;
    for (unsigned i = 0; i < n_suites; ++i) {
        const unsigned n = cases_of(*suites[i], filter, cases);
        for (unsigned k = 0; k < n; ++k)
            printk("ktest.list: %s.%s\n", suites[i]->name, cases[k]->name);
        total += n;
    }
    printk("ktest.list: %u test(s) match '%s'\n", total, filter);
    for (const CrashCase* c = __start_ktest_crashes; c < __stop_ktest_crashes; ++c)
        printk("ktest.list: crash %s site=%s frames=%s manual=%d report=%s\n", c->name, c->site,
               c->frames ? c->frames : "", c->manual ? 1 : 0, c->report ? c->report : "");
}

unsigned stress_scale() { return current_stress; }

void run_crash(const char* name) {
    for (const CrashCase* c = __start_ktest_crashes; c < __stop_ktest_crashes; ++c) {
        if (lib::strcmp(c->name, name) != 0)
            continue;
        printk("ktest.crash: running %s (expects site=%s frames=%s)\n", c->name, c->site,
               c->frames ? c->frames : "");
        Context ctx = Context::capture(c->name);
        run_body(c->fn, ctx);
        printk("ktest.crash: %s returned without crashing%s\n", c->name,
               ctx.failed() ? " (and a check in it failed)" : "");
        if (ctx.failed())
            printk("%s", ctx.captured());
        return;
    }
    printk("ktest.crash: no crash test named '%s'\n", name);
}

} // namespace ktest
