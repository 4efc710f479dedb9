// A sleeping mutex: the owner is a task; waiters sleep on a wait queue.
//
// Context: task context, may sleep (might_sleep). Unlocking a mutex the
// current task does not own WARNs (sched.mutex_bad_unlock) and does nothing.
#pragma once

#include "sched/wait.h"

namespace sched {

class Mutex {
public:
    void lock();
    bool try_lock();
    void unlock();
    Task* owner() const { return m_owner.load(); }

private:
    Atomic<Task*> m_owner{nullptr};
    WaitQueue m_wq;
};

class [[nodiscard]] MutexGuard : Pinned {
public:
    explicit MutexGuard(Mutex& m) : m_mutex(m) { m_mutex.lock(); }
    ~MutexGuard() { m_mutex.unlock(); }

private:
    Mutex& m_mutex;
};

} // namespace sched
