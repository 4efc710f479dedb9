// Load balancing: a CPU takes one task from the busiest queue, from the tick
// every BALANCE_TICKS and whenever it is idle.
#include "sched/runqueue.h"

namespace sched {

using namespace detail;

namespace detail {

// Take one task another CPU could run; interrupts off.
bool steal_one() {
    const unsigned me = x86::this_cpu_index();
    unsigned busiest = me;
    unsigned most = 0;
    for (unsigned c = 0; c < x86::NR_CPUS; ++c) {
        if (c == me || !x86::cpu_online(c))
            continue;
        const unsigned q = read_once(rqs[c].nr_queued);
        if (q > most) {
            most = q;
            busiest = c;
        }
    }
    // Worth it only if the busiest CPU has at least two more to run than we do.
    if (busiest == me || most == 0 || load_of(busiest) < load_of(me) + 2)
        return false;
    Task* stolen = nullptr;
    {
        // Only if nobody holds it: every idle CPU tries this at every tick,
        // and queueing them all on the busiest CPU's ticket lock would stall
        // that CPU's own tick and switches behind them - with more vCPUs
        // than host cores, for seconds (a lock holder's vCPU not running).
        // The next tick tries again.
        RunQueue& from = rqs[busiest];
        if (!from.lock.try_lock())
            return false;
        for (Task& t : from.queue) {
            // Never a pinned task (not allowed here), one with migration
            // disabled, or one whose stack is still in use.
            if (t.migrate_disable || !(t.allowed & x86::cpu_bit(me)) || t.on_cpu.load() || t.is_idle)
                continue;
            stolen = &t;
            break;
        }
        if (stolen) {
            from.queue.remove(*stolen);
            --from.nr_queued;
        }
        from.lock.unlock();
    }
    if (!stolen)
        return false;
    RunQueue& rq = rqs[me];
    rq.lock.lock();
    stolen->cpu = me;
    rq.queue.push_back(*stolen);
    ++rq.nr_queued;
    ++rq.stats.migrations;
    rq.lock.unlock();
    set_need_resched(me);
    return true;
}

} // namespace detail

} // namespace sched
