#include "sched/wait.h"

#include "sched/sched.h"

namespace sched {

Task* current_task() { return current(); }

void WaitQueue::add(WaitEntry& e) {
    SpinlockIrqsaveGuard guard(m_lock);
    if (!e.node.is_linked())
        m_waiters.push_back(e);
}

void WaitQueue::remove(WaitEntry& e) {
    SpinlockIrqsaveGuard guard(m_lock);
    m_waiters.remove(e);
}

unsigned WaitQueue::wake_one() {
    SpinlockIrqsaveGuard guard(m_lock);
    // Skip waiters that are already awake: they will test their condition.
    for (WaitEntry& e : m_waiters)
        if (wake_up_process(e.task))
            return 1;
    return 0;
}

unsigned WaitQueue::wake_all() {
    SpinlockIrqsaveGuard guard(m_lock);
    unsigned n = 0;
    for (WaitEntry& e : m_waiters)
        n += wake_up_process(e.task);
    return n;
}

bool WaitQueue::has_waiters() {
    SpinlockIrqsaveGuard guard(m_lock);
    return !m_waiters.empty();
}

bool Completion::try_consume() {
    u32 d = m_done.load();
    while (d) {
        if (d == ~0u)
            return true;   // complete_all
        if (m_done.compare_exchange(d, d - 1))
            return true;
    }
    return false;
}

void Completion::complete() {
    u32 d = m_done.load();
    while (d != ~0u && !m_done.compare_exchange(d, d + 1)) {
    }
    m_wq.wake_all();
}

void Completion::complete_all() {
    m_done.store(~0u);
    m_wq.wake_all();
}

void Completion::wait() {
    wait_event(m_wq, [this] { return try_consume(); });
}

} // namespace sched
