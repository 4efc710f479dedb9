// Timed sleeps: jiffies (CPU 0's ticks) and the tasks waiting for one.
#include "sched/runqueue.h"

namespace sched {

using namespace detail;

namespace {

Atomic<u32> jiffy_count{0};
Spinlock sleepers_lock;
List<Task, &Task::sleep_node> sleepers;

void wake_sleepers() {
    const u32 now = jiffy_count.load();
    for (;;) {
        Task* due = nullptr;
        {
            SpinlockGuard guard(sleepers_lock);
            for (Task& t : sleepers) {
                if (static_cast<i32>(now - t.wake_tick) >= 0) {
                    due = &t;
                    sleepers.remove(t);
                    break;
                }
            }
        }
        if (!due)
            return;
        wake_up_process(due);
    }
}

} // namespace

namespace detail {

void advance_jiffies() {
    jiffy_count.fetch_add(1);
    wake_sleepers();
}

} // namespace detail

u32 jiffies() { return jiffy_count.load(); }

void sleep_ticks(u32 ticks) {
    might_sleep();
    if (!may_switch())
        return;
    Task* me = current();
    {
        SpinlockIrqsaveGuard guard(sleepers_lock);
        me->wake_tick = jiffy_count.load() + (ticks ? ticks : 1);
        sleepers.push_back(*me);
        set_current_sleeping();
    }
    schedule();
    set_current_running();
}

} // namespace sched
