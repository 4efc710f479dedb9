// Affinity: the CPUs a task may run on, and moving it when its own CPU is
// taken away (docs/scheduling.md).
#include "sched/runqueue.h"

#include "lib/bug.h"
#include "lib/inject.h"
#include "sched/sched_testing.h"

namespace sched {

using namespace detail;

constinit const InjectPoint set_cpus_allowed_chosen{"sched.set_cpus_allowed_chosen"};

void set_cpus_allowed(x86::CpuMask mask) {
    Task* me = current();
    mask &= x86::cpu_online_mask.load();
    if (WARN_ONCE("sched.empty_affinity", mask == 0, "set_cpus_allowed: no online CPU in the mask"))
        return;
    bool move;
    {
        // The mask, the CPU it is checked against and the target agree.
        PreemptGuard guard;
        me->allowed = mask;
        move = !(mask & x86::cpu_bit(me->cpu));
        if (move && me->migrate_disable) {
            me->affinity_pending = true;   // migrate_enable() applies it
            return;
        }
        if (move)
            me->migrate_to = static_cast<int>(x86::first_cpu(mask));
    }
    // A preemption from here on (a test forces one) moves the task just as
    // the schedule() below does.
    inject_point(set_cpus_allowed_chosen);
    if (!move || me->migrate_to < 0)
        return;
    if (may_switch())
        schedule();
    else
        set_need_resched(x86::this_cpu_index());   // atomic: at its next preemption point
}

// The current task's migration was just re-enabled and its affinity changed
// meanwhile: if its CPU is no longer allowed, move now, or at the next
// preemption point if it cannot switch now (Linux's migrate_enable does the same).
void apply_pending_affinity() {
    Task* me = current();
    PreemptGuard guard;
    me->affinity_pending = false;
    const x86::CpuMask allowed = me->allowed & x86::cpu_online_mask.load();
    if (allowed && !(allowed & x86::cpu_bit(me->cpu))) {
        me->migrate_to = static_cast<int>(x86::first_cpu(allowed));
        set_need_resched(x86::this_cpu_index());
    }
}

} // namespace sched
