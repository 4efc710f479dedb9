// The kmap_atomic conversion audit: sections, recording, the report (the
// contract is in kmap_audit.h; the rules in lib/kmap_audit_rules.h).
#include "mm/kmap_audit.h"

#include "arch/x86/nofault.h"
#include "arch/x86/percpu.h"
#include "lib/bug.h"
#include "lib/format.h"
#include "lib/ksym.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/kmap_audit_testing.h"
#include "mm/kmap_local.h"
#include "sched/hooks.h"
#include "sched/sched.h"

namespace mm {

using kmap_audit::Event;
using kmap_audit::NR_EVENTS;

namespace {

constexpr unsigned MAX_ROWS = 64;
constexpr u16 NO_ROW = 0xffff;
// Tasks switched out of one CPU with a section open, at once.
constexpr unsigned MAX_AWAY = 8;

static_assert(KmapAuditRow::NAME_BYTES == sizeof(sched::Task::name));

// The table and the away lists; taken with interrupts off (the switch
// hooks run so), never around anything the audit observes.
Spinlock audit_lock;
KmapAuditRow rows[MAX_ROWS];
unsigned nr_rows;
u32 sections_without_row;                  // the table was full
sched::Task* away[x86::NR_CPUS][MAX_AWAY];
u32 away_overflow;
Atomic<bool> recording{true};

unsigned index_of(Event e) { return static_cast<unsigned>(e); }

// The task's audit state. Only the debug build's tasks carry one
// (sched/task.h); this file is built in both, and in the release build boot
// refuses kmap.audit, so nothing here is reached.
#if HIMEM_DEBUG
sched::KmapAuditState& audit_state(sched::Task* t) { return t->kmap_audit; }
const sched::KmapAuditState& audit_state(const sched::Task* t) { return t->kmap_audit; }
#else
[[noreturn]] void no_audit_state() {
    BUG("kmap_audit.release", "the release build keeps no audit state");
}
sched::KmapAuditState& audit_state(sched::Task*) { no_audit_state(); }
const sched::KmapAuditState& audit_state(const sched::Task*) { no_audit_state(); }
#endif

// The row of call site `site`, made if new; NO_ROW when the table is full.
u16 row_for(u32 site) {
    SpinlockIrqsaveGuard guard(audit_lock);
    for (unsigned i = 0; i < nr_rows; ++i) {
        if (rows[i].site == site) {
            ++rows[i].runs;
            return static_cast<u16>(i);
        }
    }
    if (nr_rows == MAX_ROWS) {
        ++sections_without_row;
        return NO_ROW;
    }
    rows[nr_rows] = {};
    rows[nr_rows].site = site;
    rows[nr_rows].runs = 1;
    return static_cast<u16>(nr_rows++);
}

// The innermost open section's row, or NO_ROW.
u16 innermost(const sched::Task* t) {
    const u32 open = audit_state(t).open;
    if (!open)
        return NO_ROW;
    return audit_state(t).row[min(open, sched::KmapAuditState::MAX_OPEN) - 1];
}

// Whether `t` is in a context whose events count: a task with a section
// open, not a handler running on top of it.
bool counts(const sched::Task* t) {
    return t && audit_state(t).open && !audit_state(t).nested && !sched::in_interrupt();
}

void record_locked(u16 r, Event e, u32 where, u32 caller) {
    KmapAuditRow& row = rows[r];
    const unsigned i = index_of(e);
    if (row.count[i]++ == 0) {
        row.first[i][0] = where;
        row.first[i][1] = caller;
        row.first_cpu[i] = x86::this_cpu_index();
    }
}

void record(const sched::Task* t, Event e, u32 where, u32 caller) {
    if (!recording.load(MemoryOrder::Relaxed))
        return;
    const u16 r = innermost(t);
    if (r == NO_ROW)
        return;
    SpinlockIrqsaveGuard guard(audit_lock);
    record_locked(r, e, where, caller);
}

// The two return addresses above the frame `frame`: the place that called
// the function owning it, and that place's caller. Our own stack, built
// with frame pointers: read directly (a nofault read would be observed).
struct Place {
    u32 where = 0;
    u32 caller = 0;
};
Place place_from(const void* frame) {
    Place p;
    const u32* f = static_cast<const u32*>(frame);
    p.where = f[1];
    const u32 next = f[0];
    if (next > reinterpret_cast<u32>(f) && next % 4 == 0)
        p.caller = reinterpret_cast<const u32*>(next)[1];
    return p;
}

// ---- the observers (sched/context_observer.h, x86/nofault.h) ----------------

// Whether preemption is on apart from kmap_atomic's missing count: then
// the event depends on what kmap_atomic used to disable.
bool preemption_on() { return sched::preempt_count() == 0 && x86::irqs_enabled(); }

[[gnu::noinline]] void on_context_event(sched::ContextEvent event) {
    const sched::Task* t = sched::current();
    if (!counts(t))
        return;
    Event e;
    switch (event) {
    case sched::ContextEvent::InAtomic:
        if (sched::preempt_count() != 0)
            return;   // true either way
        e = Event::InAtomicAsked;
        break;
    case sched::ContextEvent::Preemptible:
        if (!preemption_on())
            return;   // false either way
        e = Event::PreemptibleAsked;
        break;
    case sched::ContextEvent::PagefaultDisabled:
        if (t->pagefault_disabled)
            return;   // true either way
        e = Event::PagefaultAsked;
        break;
    case sched::ContextEvent::PercpuAccess:
        if (!preemption_on())
            return;   // something else keeps this CPU
        e = Event::PercpuAccess;
        break;
    case sched::ContextEvent::MaySleep:
        if (!preemption_on())
            return;   // a bug with or without kmap_atomic
        e = Event::MaySleep;
        break;
    default:
        return;
    }
    const Place p = place_from(__builtin_frame_address(0));
    record(t, e, p.where, p.caller);
}

// A nofault access relies on a fault not being resolved: it would be now.
[[gnu::noinline]] void on_nofault_access() {
    const sched::Task* t = sched::current();
    if (!counts(t) || sched::faulthandler_disabled() || !x86::irqs_enabled())
        return;
    const Place p = place_from(__builtin_frame_address(0));
    record(t, Event::NofaultAccess, p.where, p.caller);
}

// ---- task hooks: preemption, migration, life ---------------------------------

void note_ran(KmapAuditRow& row, const sched::Task* next) {
    ++row.switches_meanwhile;
    for (unsigned i = 0; i < min(row.nr_ran, KmapAuditRow::MAX_NAMES); ++i)
        if (lib::strcmp(row.ran[i], next->name) == 0)
            return;
    if (row.nr_ran < KmapAuditRow::MAX_NAMES)
        lib::strlcpy(row.ran[row.nr_ran], next->name, KmapAuditRow::NAME_BYTES);
    ++row.nr_ran;
}

// Interrupts off, current() == prev.
void on_switch_out(sched::Task* prev, sched::Task* next) {
    const unsigned cpu = x86::this_cpu_index();
    const bool on = recording.load(MemoryOrder::Relaxed);
    SpinlockIrqsaveGuard guard(audit_lock);
    // Who waits to come back here with a section open sees `next` run.
    for (sched::Task* w : away[cpu]) {
        if (w && w != next && on)
            if (const u16 r = innermost(w); r != NO_ROW)
                note_ran(rows[r], next);
    }
    if (!audit_state(prev).open || prev->is_idle)
        return;
    const u16 r = innermost(prev);
    if (on && r != NO_ROW) {
        const Event e = prev->state == sched::TaskState::Runnable ? Event::Preempted : Event::Slept;
        record_locked(r, e, 0, 0);
        note_ran(rows[r], next);   // the first to run in its place
    }
    for (sched::Task*& slot : away[cpu]) {
        if (!slot) {
            slot = prev;
            audit_state(prev).away_from = cpu + 1;
            return;
        }
    }
    ++away_overflow;
}

// Interrupts on, preemption off, current() == the task switched in.
void on_switch_in(sched::Task*) {
    sched::Task* me = sched::current();
    if (!audit_state(me).away_from)
        return;
    const unsigned from = audit_state(me).away_from - 1;
    audit_state(me).away_from = 0;
    SpinlockIrqsaveGuard guard(audit_lock);
    for (sched::Task*& slot : away[from])
        if (slot == me)
            slot = nullptr;
    if (from != x86::this_cpu_index() && recording.load(MemoryOrder::Relaxed))
        if (const u16 r = innermost(me); r != NO_ROW)
            record_locked(r, Event::Migrated, 0, 0);
}

void on_create(sched::Task* child, sched::Task*) { audit_state(child) = {}; }

void on_exit(sched::Task* t) {
    // kmap_local's own exit hook reports the mappings left behind.
    audit_state(t).open = 0;
}

// Handlers that run on top of a task: their events are not its section's.
u32 on_irq_enter() {
    sched::Task* t = sched::current();
    if (!t)
        return 0;
    ++audit_state(t).nested;
    return 1;
}

void on_irq_exit(u32 entered, x86::NestedContext) {
    if (entered)
        --audit_state(sched::current()).nested;
}

const sched::TaskHooks audit_hooks = {
    .name = "kmap_audit",
    .on_create = on_create,
    .on_exit = on_exit,
    .switch_out = on_switch_out,
    .switch_in = on_switch_in,
    .irq_enter = on_irq_enter,
    .irq_exit = on_irq_exit,
};

// Whether kmap_atomic() audits here: a task, not a handler on top of one.
bool audits_here(const sched::Task* t) {
    return t && !audit_state(t).nested && !sched::in_interrupt();
}

// ---- the report ------------------------------------------------------------------

// "name+0xoff" of a code address, the C++ parameter list dropped.
void describe(u32 addr, char* buf, size_t size) {
    if (!addr) {
        lib::strlcpy(buf, "?", size);
        return;
    }
    u32 offset = 0, fn_size = 0;
    const char* name = ksym::lookup(addr, &offset, &fn_size);
    if (!name) {
        lib::format(buf, size, "%#x", addr);
        return;
    }
    // Without "(anonymous namespace)::": the function's own name is enough.
    constexpr char anon[] = "(anonymous namespace)::";
    char plain[128];
    if (const char* a = lib::strstr(name, anon)) {
        const size_t before = min(static_cast<size_t>(a - name), sizeof(plain) - 1);
        lib::strlcpy(plain, name, before + 1);
        lib::strlcpy(plain + before, a + sizeof(anon) - 1, sizeof(plain) - before);
    } else {
        lib::strlcpy(plain, name, sizeof(plain));
    }
    // Drop a trailing " const" and then the parameter list's parentheses.
    size_t n = lib::strlen(plain);
    if (n > 6 && lib::strcmp(plain + n - 6, " const") == 0)
        plain[n -= 6] = '\0';
    if (n && plain[n - 1] == ')') {
        int depth = 0;
        for (size_t i = n; i-- > 0;) {
            depth += plain[i] == ')' ? 1 : plain[i] == '(' ? -1 : 0;
            if (depth == 0) {
                if (i > 0)
                    plain[i] = '\0';
                break;
            }
        }
    }
    lib::format(buf, size, "%s+%#x", plain, offset);
}

void emit(KmapAuditLine line, void* context, const char* fmt, ...) HIMEM_PRINTF(3, 4);
void emit(KmapAuditLine line, void* context, const char* fmt, ...) {
    char text[320];
    va_list ap;
    va_start(ap, fmt);
    lib::vformat(text, sizeof(text), fmt, ap);
    va_end(ap);
    line(context, text);
}

void report_row(const KmapAuditRow& row, unsigned number, KmapAuditLine line, void* context) {
    char site[160];
    describe(row.site, site, sizeof(site));
    emit(line, context, "kmap_audit: site %u at %s: %u run%s: %s", number, site, row.runs,
         row.runs == 1 ? "" : "s", kmap_audit::verdict_text(row.verdict()));
    for (unsigned i = 0; i < NR_EVENTS; ++i) {
        if (!row.count[i])
            continue;
        const auto e = static_cast<Event>(i);
        char where[300];
        if (row.first[i][0]) {
            char a[140], b[140];
            describe(row.first[i][0], a, sizeof(a));
            describe(row.first[i][1], b, sizeof(b));
            lib::format(where, sizeof(where), "%s <- %s", a, b);
        } else {
            lib::format(where, sizeof(where), "CPU %u", row.first_cpu[i]);
        }
        emit(line, context, "kmap_audit: site %u: %s x%u (%s), first at %s", number,
             kmap_audit::event_name(e), row.count[i],
             kmap_audit::dependency_name(kmap_audit::dependency_of(e)), where);
    }
    if (row.switches_meanwhile) {
        char names[KmapAuditRow::MAX_NAMES * (KmapAuditRow::NAME_BYTES + 2) + 24] = "";
        size_t used = 0;
        for (unsigned i = 0; i < min(row.nr_ran, KmapAuditRow::MAX_NAMES); ++i)
            used += lib::format(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                row.ran[i]);
        if (row.nr_ran > KmapAuditRow::MAX_NAMES)
            lib::format(names + used, sizeof(names) - used, " and %u more",
                        row.nr_ran - KmapAuditRow::MAX_NAMES);
        emit(line, context, "kmap_audit: site %u: ran meanwhile: %u switch%s, %u task%s: %s",
             number, row.switches_meanwhile, row.switches_meanwhile == 1 ? "" : "es", row.nr_ran,
             row.nr_ran == 1 ? "" : "s", names);
    }
}

void console_line(void*, const char* text) { printk("# %s\n", text); }

} // namespace

u32 KmapAuditRow::seen() const {
    u32 bits = 0;
    for (unsigned i = 0; i < NR_EVENTS; ++i)
        if (count[i])
            bits |= kmap_audit::event_bit(static_cast<Event>(i));
    return bits;
}

bool kmap_audit_enabled() { return detail::kmap_audit_on; }

void kmap_audit_init() {
    if (!HIMEM_DEBUG)
        return;   // boot refuses kmap.audit in the release build
    if (!sched::register_task_hooks(audit_hooks))
        return;
    sched::set_context_observer(on_context_event);
    x86::set_nofault_observer(on_nofault_access);
    detail::kmap_audit_on = true;
    printk("kmap_audit: on: kmap_atomic() opens audited sections instead of disabling "
           "preemption and page faults\n");
}

void kmap_audit_report(KmapAuditLine line, void* context) {
    unsigned n;
    u32 without_row, overflow;
    {
        SpinlockIrqsaveGuard guard(audit_lock);
        n = nr_rows;
        without_row = sections_without_row;
        overflow = away_overflow;
    }
    emit(line, context, "kmap_audit: report: %u call sites, recording %s", n,
         recording.load() ? "on" : "off");
    for (unsigned i = 0; i < n; ++i) {
        KmapAuditRow row;
        {
            SpinlockIrqsaveGuard guard(audit_lock);
            row = rows[i];
        }
        report_row(row, i + 1, line, context);
    }
    if (without_row || overflow)
        emit(line, context, "kmap_audit: not recorded: %u sections (table full), %u preemptions "
             "(too many tasks away from one CPU)", without_row, overflow);
    emit(line, context, "kmap_audit: end of report");
}

void kmap_audit_print_report() { kmap_audit_report(console_line, nullptr); }

void kmap_audit_fault(const x86::InterruptFrame& frame, KmapAuditFault what) {
    if (!detail::kmap_audit_on)
        return;
    // The exception runs on top of the task: its section is the faulting code's.
    const sched::Task* t = sched::current();
    if (!t || !audit_state(t).open || audit_state(t).nested > 1)
        return;
    // Where the fault happened, and the return address of that function.
    u32 caller = 0;
    if (frame.ebp > reinterpret_cast<u32>(&frame) && frame.ebp % 4 == 0)
        caller = reinterpret_cast<const u32*>(frame.ebp)[1];
    record(t, what == KmapAuditFault::Resolved ? Event::FaultResolved : Event::FixupFaultsOff,
           frame.eip, caller);
}

void kmap_audit_inatomic_copy() {
    const sched::Task* t = sched::current();
    if (!counts(t) || sched::faulthandler_disabled())
        return;   // the caller disabled faults itself: no dependency on kmap_atomic's
    const Place p = place_from(__builtin_frame_address(0));
    record(t, Event::InatomicCopy, p.where, p.caller);
}

namespace detail {

void* kmap_atomic_audited(Page* page) {
    sched::Task* t = sched::current();
    if (!audits_here(t)) {
        // A handler (or early boot): kmap_atomic as it always was.
        sched::preempt_disable();
        sched::pagefault_disable();
        return kmap_local_page(page);
    }
    const u16 r = row_for(reinterpret_cast<u32>(__builtin_return_address(0)));
    sched::KmapAuditState& s = audit_state(t);
    if (s.open < sched::KmapAuditState::MAX_OPEN)
        s.row[s.open] = r;
    ++s.open;
    return kmap_local_page(page);
}

void kunmap_atomic_audited(const void* addr) {
    kunmap_local(addr);
    sched::Task* t = sched::current();
    if (!audits_here(t)) {
        sched::pagefault_enable();
        sched::preempt_enable();
        return;
    }
    if (WARN("kmap_audit.unbalanced", audit_state(t).open == 0,
             "kunmap_atomic() with no audited section open on %s", t->name))
        return;
    --audit_state(t).open;
}

} // namespace detail

// ---- tests (mm/kmap_audit_testing.h) ---------------------------------------------

namespace testing {

namespace {

bool in_function(u32 addr, const void* fn) {
    u32 offset = 0, size = 0;
    const u32 start = reinterpret_cast<u32>(fn);
    if (!ksym::lookup(start, &offset, &size) || offset != 0)
        return false;
    return addr - start < size;
}

} // namespace

bool kmap_audit_row(const void* fn, KmapAuditRow* out) {
    SpinlockIrqsaveGuard guard(audit_lock);
    for (unsigned i = 0; i < nr_rows; ++i) {
        if (in_function(rows[i].site, fn)) {
            *out = rows[i];
            return true;
        }
    }
    return false;
}

void kmap_audit_forget(const void* fn) {
    SpinlockIrqsaveGuard guard(audit_lock);
    for (unsigned i = 0; i < nr_rows; ++i) {
        if (in_function(rows[i].site, fn)) {
            const u32 site = rows[i].site;
            rows[i] = {};
            rows[i].site = site;   // open sections may still name this row
        }
    }
}

u32 kmap_audit_open_sections() { return audit_state(sched::current()).open; }

void set_kmap_audit_recording(bool on) { recording.store(on); }
bool kmap_audit_recording() { return recording.load(); }

} // namespace testing

} // namespace mm
