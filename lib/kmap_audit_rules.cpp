#include "lib/kmap_audit_rules.h"

namespace kmap_audit {

Dependency dependency_of(Event e) {
    switch (e) {
    case Event::PercpuAccess:
    case Event::InAtomicAsked:
    case Event::PreemptibleAsked:
        return Dependency::Preemption;
    case Event::PagefaultAsked:
    case Event::InatomicCopy:
    case Event::NofaultAccess:
    case Event::FixupFaultsOff:
        return Dependency::PageFaults;
    case Event::MaySleep:
    case Event::FaultResolved:
    case Event::Slept:
        return Dependency::HiddenBug;
    case Event::Preempted:
    case Event::Migrated:
        break;
    }
    return Dependency::Prevented;
}

Verdict verdict_of(u32 seen) {
    bool preemption = false, faults = false;
    for (unsigned i = 0; i < NR_EVENTS; ++i) {
        if (!(seen & (1u << i)))
            continue;
        const Dependency d = dependency_of(static_cast<Event>(i));
        preemption |= d == Dependency::Preemption;
        faults |= d == Dependency::PageFaults;
    }
    if (preemption && faults)
        return Verdict::KeepKmapAtomic;
    if (preemption)
        return Verdict::KeepPreemptDisable;
    if (faults)
        return Verdict::KeepPagefaultDisable;
    return Verdict::ConvertAsIs;
}

const char* event_name(Event e) {
    static const char* const names[NR_EVENTS] = {
        "percpu_access", "in_atomic_asked", "preemptible_asked", "pagefault_disabled_asked",
        "inatomic_copy", "nofault_access", "fixup_faults_off", "may_sleep",
        "fault_resolved", "slept", "preempted", "migrated",
    };
    const auto i = static_cast<unsigned>(e);
    return i < NR_EVENTS ? names[i] : "?";
}

const char* dependency_name(Dependency d) {
    switch (d) {
    case Dependency::Preemption: return "preemption";
    case Dependency::PageFaults: return "page faults";
    case Dependency::HiddenBug: return "harmless under kmap_local: a bug kmap_atomic hid";
    case Dependency::Prevented: return "kmap_atomic would have prevented it";
    }
    return "?";
}

const char* verdict_text(Verdict v) {
    switch (v) {
    case Verdict::ConvertAsIs: return "convert as is";
    case Verdict::KeepPreemptDisable: return "convert, keeping preempt_disable()";
    case Verdict::KeepPagefaultDisable: return "convert, keeping pagefault_disable()";
    case Verdict::KeepKmapAtomic: return "keep kmap_atomic";
    }
    return "?";
}

} // namespace kmap_audit
