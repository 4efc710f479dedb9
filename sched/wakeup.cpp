// Waking a sleeping task, and the marks a task sets on itself before it
// sleeps (with the barrier that pairs with the waker's).
#include "sched/runqueue.h"

namespace sched {

using namespace detail;

bool wake_up_process(Task* p) {
    const platform::IrqFlags flags = p->pi_lock.lock_irqsave();
    memory_barrier();   // pairs with set_current_sleeping()
    if (p->state != TaskState::Sleeping) {
        p->pi_lock.unlock_irqrestore(flags);
        return false;
    }
    // Still counted on its CPU (it has not switched out yet, or it is queued):
    // making it runnable is enough. Checked under that CPU's run-queue lock,
    // which __schedule holds while it takes a sleeping task off.
    for (;;) {
        RunQueue& rq = rqs[p->cpu];
        rq.lock.lock();
        if (&rq != &rqs[p->cpu]) {
            rq.lock.unlock();
            continue;
        }
        p->state = TaskState::Runnable;
        const bool still_on_rq = p->on_rq;
        rq.lock.unlock();
        if (still_on_rq) {
            p->pi_lock.unlock_irqrestore(flags);
            return true;
        }
        break;
    }
    // Off every queue: wait until its last CPU is done with its stack.
    while (p->on_cpu.load(MemoryOrder::Acquire))
        x86::pause();
    enqueue(select_cpu(p), p);
    p->pi_lock.unlock_irqrestore(flags);
    return true;
}

void set_current_sleeping() {
    current()->state = TaskState::Sleeping;
    memory_barrier();
}

void set_current_running() { current()->state = TaskState::Runnable; }

} // namespace sched
