// Debug build: an observer of the questions and calls that show whether a
// kmap_atomic() section depends on its side effects (mm/kmap_audit.h sets it
// under kmap.audit). Unset, an observed call pays one load and a branch; in
// the release build (HIMEM_DEBUG 0) the call sites compile to nothing.
//
// The observer is called at the place of the event, in whatever context it
// happens; it finds the place from its own return address and decides
// whether the event counts.
#pragma once

#include "lib/atomic.h"
#include "lib/types.h"

namespace sched {

enum class ContextEvent : u8 {
    InAtomic,            // in_atomic() asked
    Preemptible,         // preemptible() asked
    PagefaultDisabled,   // pagefault_disabled() asked
    PercpuAccess,        // smp_processor_id(): per-CPU data about to be used
    MaySleep,            // might_sleep()
};

using ContextObserver = void (*)(ContextEvent event);

namespace detail {
inline Atomic<ContextObserver> context_observer{nullptr};
}

// At boot, before the scheduler runs; null switches it off again.
inline void set_context_observer(ContextObserver observer) {
    detail::context_observer.store(observer, MemoryOrder::Release);
}

// Inline, so that the observer's return address is the place that asked.
[[gnu::always_inline]] inline void observe_context(ContextEvent event) {
    if (HIMEM_DEBUG) {
        if (const ContextObserver o = detail::context_observer.load(MemoryOrder::Relaxed); unlikely(o))
            o(event);
    }
}

} // namespace sched
