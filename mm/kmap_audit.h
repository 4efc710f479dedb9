// The kmap_atomic conversion audit (kmap.audit, debug build only): which
// kmap_atomic() sections depend on its side effects (seeds/000, seeds/002;
// docs/highmem.md, "Auditing a conversion").
//
// With kmap.audit on the command line, kmap_atomic() keeps its mapping but
// disables neither preemption nor page faults: it opens an audited section
// on the current task, keyed by its call site, and kunmap_atomic() closes
// it. The section then runs as it would after a conversion to
// kmap_local_page(), and the kernel records, for the innermost section open
// on the task, each event that shows what the section needed:
//
//   per-CPU access: smp_processor_id()       -> preemption off
//   in_atomic(), preemptible() asked         -> preemption off
//   pagefault_disabled() asked               -> page faults off
//   copy_*_inatomic(), x86::nofault_*()      -> page faults off
//   a fault sent to its fixup, faults off    -> page faults off
//   might_sleep(), a fault resolved, a sleep -> a bug kmap_atomic hid
//   a preemption, a migration                -> what kmap_atomic prevented,
//                                               with who ran on that CPU
//
// An event counts only where kmap_atomic would have made a difference: a
// per-CPU access or a question with preemption otherwise on, a nofault
// access that could now be resolved, an in-atomic copy whose caller did not
// disable faults itself. The verdict rules are lib/kmap_audit_rules.h's.
//
// Innermost, not all: the sections still open around it are other call
// sites, each converted on its own; whichever stays kmap_atomic keeps
// covering the inner code, and the event's own section is the one whose
// code did it. Events of handlers that interrupt the task (hardirqs,
// exceptions, cross-CPU calls) are not the section's; the page-fault
// handler reports its own decision for the section explicitly. In
// interrupt context kmap_atomic() keeps its side effects and opens nothing.
//
// Without kmap.audit nothing changes, and in the release build kmap.audit
// is refused at boot and every hook is compiled out (HIMEM_DEBUG 0).
#pragma once

#include "arch/x86/interrupt_frame.h"
#include "lib/kmap_audit_rules.h"
#include "lib/types.h"

namespace mm {

struct Page;

// One call site of kmap_atomic(): what its sections did.
struct KmapAuditRow {
    static constexpr unsigned MAX_NAMES = 4;
    static constexpr unsigned NAME_BYTES = 24;   // sched::Task::name
    u32 site;                                 // kmap_atomic's call site (a return address)
    u32 runs;                                 // sections opened there
    u32 count[kmap_audit::NR_EVENTS];
    u32 first[kmap_audit::NR_EVENTS][2];      // the first place: where, and its caller
    u32 first_cpu[kmap_audit::NR_EVENTS];
    u32 switches_meanwhile;                   // to other tasks, on the CPU it was away from
    u32 nr_ran;                               // distinct tasks among them (names kept: MAX_NAMES)
    char ran[MAX_NAMES][NAME_BYTES];

    u32 seen() const;                         // event_bit()s of the events counted
    kmap_audit::Verdict verdict() const { return kmap_audit::verdict_of(seen()); }
};

// Whether kmap.audit is on (set once at boot).
bool kmap_audit_enabled();

// kmap.audit: turns the audit on. At boot, before the scheduler starts
// (it registers task hooks). Refused in the release build.
void kmap_audit_init();

// The report, one line at a time through `line` (no newline, no "# "):
// a header, then per call site a row line, one line per event kind seen,
// and who ran meanwhile; then an end line. On demand at any time.
using KmapAuditLine = void (*)(void* context, const char* text);
void kmap_audit_report(KmapAuditLine line, void* context);
// The same on the console as KTAP diagnostics ("# kmap_audit: ..."): the
// end of a run with kmap.audit.
void kmap_audit_print_report();

// The page-fault handler's decision for a region fault (mm/fault.cpp).
enum class KmapAuditFault : u8 { Resolved, FixedUp };
void kmap_audit_fault(const x86::InterruptFrame& frame, KmapAuditFault what);
// copy_to_region_inatomic() and copy_from_region_inatomic(), on entry.
void kmap_audit_inatomic_copy();

namespace detail {
inline bool kmap_audit_on = false;
// kmap_atomic() and kunmap_atomic() under kmap.audit (mm/kmap_local.h).
[[gnu::noinline]] void* kmap_atomic_audited(Page* page);
[[gnu::noinline]] void kunmap_atomic_audited(const void* addr);
} // namespace detail

} // namespace mm
