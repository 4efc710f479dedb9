// The hook registry as the scheduler's own paths walk it (sched/hooks.h has
// the contract). Inline, because the switch path runs it on every switch.
#pragma once

#include "lib/atomic.h"
#include "sched/hooks.h"

namespace sched::detail {

struct HookRegistry {
    // Written at boot (and by tests, sched/sched_testing.h) before `count`
    // covers them; an entry may be swapped for another while it runs.
    Atomic<const TaskHooks*> entry[MAX_TASK_HOOKS];
    Atomic<unsigned> count{0};
};
extern HookRegistry task_hooks;

bool append(const TaskHooks& hooks);

template <typename F>
inline void for_each_hooks(F&& f) {
    const unsigned n = task_hooks.count.load(MemoryOrder::Acquire);
    for (unsigned i = 0; i < n; ++i)
        f(*task_hooks.entry[i].load(MemoryOrder::Relaxed));
}

template <typename F>
inline void for_each_hooks_reversed(F&& f) {
    for (unsigned i = task_hooks.count.load(MemoryOrder::Acquire); i-- > 0;)
        f(*task_hooks.entry[i].load(MemoryOrder::Relaxed));
}

} // namespace sched::detail
