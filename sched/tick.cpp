// The timer tick: time slices, jiffies, periodic balancing, and the test
// observers (sched/sched_testing.h); and the reschedule IPI.
#include "sched/runqueue.h"

#include "lib/bug.h"
#include "sched/sched_testing.h"

namespace sched {

using namespace detail;

namespace {

constexpr u32 BALANCE_TICKS = 4;
constexpr unsigned MAX_TICK_OBSERVERS = 4;
Atomic<TickObserver> tick_observers[MAX_TICK_OBSERVERS];

} // namespace

namespace detail {

void tick(x86::InterruptFrame& frame) {
    const unsigned me = x86::this_cpu_index();
    if (me == 0)
        advance_jiffies();
    RunQueue& rq = rqs[me];
    fold_need_resched();   // a remote request whose IPI has not come yet
    Task* t = current();
    if (t && !t->is_idle && t->slice && --t->slice == 0) {
        t->slice = SLICE_TICKS;
        if (read_once(rq.nr_queued)) {
            set_need_resched(me);
            ++rq.stats.preemptions_tick;
        }
    }
    if (++rq.balance_countdown >= BALANCE_TICKS) {
        rq.balance_countdown = 0;
        steal_one();
    }
    for (auto& o : tick_observers)
        if (TickObserver f = o.load(MemoryOrder::Acquire))
            f(frame);
}

void reschedule_ipi() { set_need_resched(x86::this_cpu_index()); }

} // namespace detail

void add_tick_observer(TickObserver observer) {
    for (auto& o : tick_observers) {
        TickObserver expected = nullptr;
        if (o.compare_exchange(expected, observer))
            return;
    }
    BUG("sched.too_many_tick_observers", "no room for another tick observer");
}

void remove_tick_observer(TickObserver observer) {
    for (auto& o : tick_observers) {
        TickObserver expected = observer;
        o.compare_exchange(expected, nullptr);
    }
}

} // namespace sched
