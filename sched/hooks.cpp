// The per-task hook registry (the contract is in sched/hooks.h).
#include "sched/hooks.h"

#include "lib/bug.h"
#include "sched/hooks_internal.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"

namespace sched {
namespace detail {

HookRegistry task_hooks;

namespace {

void nested_enter(x86::NestedSaved& saved) {
    const auto& enter = task_hooks.irq_enter;
    const unsigned n = enter.count.load(MemoryOrder::Acquire);
    saved.used = n;
    for (unsigned i = 0; i < n; ++i)
        saved.word[i] = enter.fn[i].load(MemoryOrder::Relaxed)();
}

void nested_exit(const x86::NestedSaved& saved, x86::NestedContext kind) {
    const auto& exit = task_hooks.irq_exit;
    for (unsigned i = saved.used; i-- > 0;)
        exit.fn[i].load(MemoryOrder::Relaxed)(saved.word[i], kind);
}

const x86::NestedContextHooks nested_hooks{nested_enter, nested_exit};

template <typename Fn>
void append_if(HookList<Fn>& list, Fn f) {
    if (f)
        list.append(f);   // room checked by the caller: every list is as long
}

} // namespace
} // namespace detail

bool register_task_hooks(const TaskHooks& hooks) {
    using detail::task_hooks;
    static unsigned registered = 0;
    if (WARN("sched.hooks_late", sched_running(),
             "task hooks of %s registered after the scheduler started: refused", hooks.name))
        return false;
    if (WARN("sched.hooks_full", registered == MAX_TASK_HOOKS,
             "no room for the task hooks of %s: %u subsystems have theirs", hooks.name, registered))
        return false;
    if (WARN("sched.hooks_unpaired", !hooks.irq_enter != !hooks.irq_exit,
             "task hooks of %s: irq_enter and irq_exit come as a pair", hooks.name))
        return false;
    // The first registration also puts the dispatcher behind every handler.
    if (registered++ == 0)
        x86::set_nested_context_hooks(detail::nested_hooks);
    detail::append_if(task_hooks.on_create, hooks.on_create);
    detail::append_if(task_hooks.on_exit, hooks.on_exit);
    detail::append_if(task_hooks.switch_out, hooks.switch_out);
    detail::append_if(task_hooks.switch_in, hooks.switch_in);
    // The exit before the enter: an interrupt that comes in between (timer
    // interrupts run during boot) must not call an enter whose exit is not
    // there yet - the exit list is walked by the count the enter list had.
    detail::append_if(task_hooks.irq_exit, hooks.irq_exit);
    detail::append_if(task_hooks.irq_enter, hooks.irq_enter);
    return true;
}

// ---- tests (sched/sched_testing.h) ------------------------------------------------

namespace testing {

namespace {

template <typename Fn>
void swap_in(detail::HookList<Fn>& list, Fn from, Fn to) {
    if (from == to)
        return;
    const unsigned n = list.count.load();
    for (unsigned i = 0; i < n; ++i) {
        Fn expected = from;
        if (list.fn[i].compare_exchange(expected, to))
            return;
    }
}

void swap_all(const TaskHooks& from, const TaskHooks& to) {
    using detail::task_hooks;
    swap_in(task_hooks.on_create, from.on_create, to.on_create);
    swap_in(task_hooks.on_exit, from.on_exit, to.on_exit);
    swap_in(task_hooks.switch_out, from.switch_out, to.switch_out);
    swap_in(task_hooks.switch_in, from.switch_in, to.switch_in);
}

template <typename Fn>
bool remove_last(detail::HookList<Fn>& list, Fn f) {
    if (!f)
        return true;
    const unsigned n = list.count.load();
    if (n == 0 || list.fn[n - 1].load() != f)
        return false;
    list.count.store(n - 1, MemoryOrder::Release);
    return true;
}

} // namespace

TaskHooksGuard::TaskHooksGuard(const TaskHooks& hooks) : m_hooks(hooks), m_added(false) {
    using detail::task_hooks;
    if (WARN("sched.hooks_test_irq", hooks.irq_enter || hooks.irq_exit || hooks.on_create || hooks.on_exit,
             "test task hooks %s: only switch hooks can be added at run time", hooks.name))
        return;
    const bool room = task_hooks.switch_out.count.load() < MAX_TASK_HOOKS &&
                      task_hooks.switch_in.count.load() < MAX_TASK_HOOKS;
    if (WARN("sched.hooks_full", !room, "no room for the test task hooks %s", hooks.name))
        return;
    detail::append_if(task_hooks.switch_out, hooks.switch_out);
    detail::append_if(task_hooks.switch_in, hooks.switch_in);
    m_added = true;
}

TaskHooksGuard::~TaskHooksGuard() {
    if (!m_added)
        return;
    using detail::task_hooks;
    const bool lifo = remove_last(task_hooks.switch_in, m_hooks.switch_in) &&
                      remove_last(task_hooks.switch_out, m_hooks.switch_out);
    WARN("sched.hooks_not_lifo", !lifo, "test task hooks %s removed out of order", m_hooks.name);
}

TaskHooksReplacement::TaskHooksReplacement(const TaskHooks& registered, const TaskHooks& replacement)
    : m_registered(registered), m_replacement(replacement) {
    WARN("sched.hooks_replacement_irq",
         registered.irq_enter != replacement.irq_enter || registered.irq_exit != replacement.irq_exit,
         "replacing task hooks %s: the interrupt hooks stay the registered ones", registered.name);
    swap_all(registered, replacement);
}

TaskHooksReplacement::~TaskHooksReplacement() { swap_all(m_replacement, m_registered); }

} // namespace testing
} // namespace sched
