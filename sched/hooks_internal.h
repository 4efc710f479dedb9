// The hook registry as the scheduler's own paths walk it (sched/hooks.h has
// the contract). Each kind of hook has its own list of the functions that
// subsystems registered, without gaps, so the switch path is a load of the
// count and one indirect call per subsystem that has that hook.
#pragma once

#include "lib/atomic.h"
#include "sched/hooks.h"

namespace sched::detail {

template <typename Fn>
struct HookList {
    // Written before `count` covers them (release); a test may swap one
    // function for another while it runs (sched/sched_testing.h).
    Atomic<Fn> fn[MAX_TASK_HOOKS];
    Atomic<unsigned> count{0};

    bool append(Fn f) {
        const unsigned n = count.load(MemoryOrder::Relaxed);
        if (n == MAX_TASK_HOOKS)
            return false;
        fn[n].store(f, MemoryOrder::Relaxed);
        count.store(n + 1, MemoryOrder::Release);
        return true;
    }
    // In registration order (into a context), or the reverse (out of it).
    template <typename... Args>
    void call(Args... args) const {
        const unsigned n = count.load(MemoryOrder::Acquire);
        for (unsigned i = 0; i < n; ++i)
            fn[i].load(MemoryOrder::Relaxed)(args...);
    }
    template <typename... Args>
    void call_reversed(Args... args) const {
        for (unsigned i = count.load(MemoryOrder::Acquire); i-- > 0;)
            fn[i].load(MemoryOrder::Relaxed)(args...);
    }
};

struct HookRegistry {
    HookList<decltype(TaskHooks::on_create)> on_create;
    HookList<decltype(TaskHooks::on_exit)> on_exit;
    HookList<decltype(TaskHooks::switch_out)> switch_out;
    HookList<decltype(TaskHooks::switch_in)> switch_in;
    // Paired: the i-th enter's value goes to the i-th exit.
    HookList<decltype(TaskHooks::irq_enter)> irq_enter;
    HookList<decltype(TaskHooks::irq_exit)> irq_exit;
};
extern HookRegistry task_hooks;

} // namespace sched::detail
