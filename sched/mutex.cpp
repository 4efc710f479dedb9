#include "sched/mutex.h"

#include "lib/bug.h"
#include "sched/sched.h"

namespace sched {

bool Mutex::try_lock() {
    Task* expected = nullptr;
    if (!m_owner.compare_exchange(expected, current()))
        return false;
    ++current()->mutexes_held;
    return true;
}

void Mutex::lock() {
    might_sleep();
    wait_event(m_wq, [this] { return try_lock(); });
}

void Mutex::unlock() {
    Task* me = current();
    if (WARN("sched.mutex_bad_unlock", m_owner.load() != me,
             "mutex %p unlocked by %s, which does not own it", this, me ? me->name : "?"))
        return;
    --me->mutexes_held;
    m_owner.store(nullptr);
    m_wq.wake_one();
}

} // namespace sched
