// The per-task hook registry (the contract is in sched/hooks.h).
#include "sched/hooks.h"

#include "lib/bug.h"
#include "sched/hooks_internal.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"

namespace sched {
namespace detail {

HookRegistry task_hooks;

void nested_enter(x86::NestedSaved& saved) {
    const unsigned n = task_hooks.count.load(MemoryOrder::Acquire);
    saved.used = n;
    for (unsigned i = 0; i < n; ++i)
        if (const auto enter = task_hooks.entry[i].load(MemoryOrder::Relaxed)->irq_enter)
            saved.word[i] = enter();
}

void nested_exit(const x86::NestedSaved& saved, x86::NestedContext kind) {
    // Only the subsystems enter saw: hooks a test added since are skipped.
    const unsigned n = min(saved.used, task_hooks.count.load(MemoryOrder::Acquire));
    for (unsigned i = n; i-- > 0;)
        if (const auto exit = task_hooks.entry[i].load(MemoryOrder::Relaxed)->irq_exit)
            exit(saved.word[i], kind);
}

const x86::NestedContextHooks nested_hooks{nested_enter, nested_exit};

bool append(const TaskHooks& hooks) {
    const unsigned n = task_hooks.count.load(MemoryOrder::Relaxed);
    if (WARN("sched.hooks_full", n == MAX_TASK_HOOKS,
             "no room for the task hooks of %s: %u subsystems have theirs", hooks.name, n))
        return false;
    task_hooks.entry[n].store(&hooks, MemoryOrder::Relaxed);
    task_hooks.count.store(n + 1, MemoryOrder::Release);
    return true;
}

} // namespace detail

bool register_task_hooks(const TaskHooks& hooks) {
    if (WARN("sched.hooks_late", sched_running(),
             "task hooks of %s registered after the scheduler started: refused", hooks.name))
        return false;
    // The first registration also puts the dispatcher behind every handler.
    if (detail::task_hooks.count.load() == 0)
        x86::set_nested_context_hooks(detail::nested_hooks);
    return detail::append(hooks);
}

} // namespace sched

// ---- tests (sched/sched_testing.h) ------------------------------------------------

namespace sched::testing {

TaskHooksGuard::TaskHooksGuard(const TaskHooks& hooks)
    : m_hooks(hooks), m_added(detail::append(hooks)) {}

TaskHooksGuard::~TaskHooksGuard() {
    if (!m_added)
        return;
    const unsigned n = detail::task_hooks.count.load();
    if (WARN("sched.hooks_not_lifo",
             n == 0 || detail::task_hooks.entry[n - 1].load() != &m_hooks,
             "test task hooks %s removed out of order", m_hooks.name))
        return;
    detail::task_hooks.count.store(n - 1, MemoryOrder::Release);
}

TaskHooksReplacement::TaskHooksReplacement(const TaskHooks& registered, const TaskHooks& replacement)
    : m_registered(registered), m_index(-1) {
    const unsigned n = detail::task_hooks.count.load();
    for (unsigned i = 0; i < n; ++i) {
        const TaskHooks* expected = &registered;
        if (detail::task_hooks.entry[i].compare_exchange(expected, &replacement)) {
            m_index = static_cast<int>(i);
            return;
        }
    }
    WARN("sched.hooks_not_registered", true, "no task hooks %s to replace", registered.name);
}

TaskHooksReplacement::~TaskHooksReplacement() {
    if (m_index >= 0)
        detail::task_hooks.entry[m_index].store(&m_registered);
}

} // namespace sched::testing
