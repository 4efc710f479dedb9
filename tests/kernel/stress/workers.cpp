#include "tests/kernel/stress/workers.h"

namespace stress {

void PinnedWorkers::entry(void* arg) {
    const Slot& slot = *static_cast<const Slot*>(arg);
    slot.crew->m_start.wait();
    if (!slot.crew->m_cancelled)
        slot.fn(slot.arg);
}

bool PinnedWorkers::spawn(unsigned cpu, const char* name) {
    sched::KthreadOptions opts;
    opts.cpu = static_cast<int>(cpu);
    opts.allowed = x86::cpu_bit(cpu);
    m_task[cpu] = sched::kthread_create(entry, &m_slot[cpu], name, opts);
    if (!m_task[cpu])
        return false;
    ++m_count;
    return true;
}

void PinnedWorkers::join() {
    for (unsigned c = 0; c < m_count; ++c)
        sched::kthread_join(m_task[c]);
    m_count = 0;
}

} // namespace stress
