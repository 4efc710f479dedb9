// The rules of the kmap_atomic conversion audit (mm/kmap_audit.h), as pure
// data and functions, so that the host tests can check the table itself.
//
// An audited section records events; each kind of event shows one of four
// things about the section, and the things seen decide the verdict:
//
//   seen in the section              verdict
//   nothing that depends             convert as is
//   a preemption dependency only     convert, keeping preempt_disable()
//   a page-fault dependency only     convert, keeping pagefault_disable()
//   both                             keep kmap_atomic
//
// A call that may sleep (and a fault resolved, or a sleep) is a bug that
// kmap_atomic hid and kmap_local makes harmless: it never holds a section
// back, it is reported beside the verdict. A preemption or a migration is
// what kmap_atomic would have prevented: evidence for the reader (who ran
// meanwhile), not a dependency by itself.
#pragma once

#include "lib/types.h"

namespace kmap_audit {

enum class Event : u8 {
    PercpuAccess,        // smp_processor_id() for per-CPU data, preemption on
    InAtomicAsked,       // in_atomic(): kmap_atomic made it true
    PreemptibleAsked,    // preemptible(): kmap_atomic made it false
    PagefaultAsked,      // pagefault_disabled(): kmap_atomic made it true
    InatomicCopy,        // copy_*_inatomic(): written for page faults off
    NofaultAccess,       // x86::nofault_*(): counts on a fault not being resolved
    FixupFaultsOff,      // a fault sent to its fixup because page faults were off
    MaySleep,            // might_sleep()
    FaultResolved,       // a fault resolved (may sleep) that kmap_atomic would have refused
    Slept,               // the task switched out asleep
    Preempted,           // the task switched out runnable
    Migrated,            // and came back on another CPU
};
constexpr unsigned NR_EVENTS = 12;

enum class Dependency : u8 {
    Preemption,   // the section needs preemption off
    PageFaults,   // the section needs page faults off
    HiddenBug,    // sleeping: wrong under kmap_atomic, fine under kmap_local
    Prevented,    // what kmap_atomic would have prevented: evidence only
};

enum class Verdict : u8 { ConvertAsIs, KeepPreemptDisable, KeepPagefaultDisable, KeepKmapAtomic };

constexpr u32 event_bit(Event e) { return 1u << static_cast<unsigned>(e); }

Dependency dependency_of(Event e);
// The verdict for a section in which the events of `seen` (event_bit()s) occurred.
Verdict verdict_of(u32 seen);

const char* event_name(Event e);          // "percpu_access"
const char* dependency_name(Dependency d);  // "preemption"
const char* verdict_text(Verdict v);      // "convert, keeping preempt_disable()"

} // namespace kmap_audit
