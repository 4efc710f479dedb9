#include "sched/preempt.h"

#include "lib/bug.h"
#include "lib/platform.h"
#include "sched/sched.h"
#include "sched/task.h"

namespace sched {

void migrate_disable() {
    if (Task* t = current())
        ++t->migrate_disable;
}

void migrate_enable() {
    Task* t = current();
    if (!t)
        return;
    if (WARN_ONCE("sched.migrate_underflow", t->migrate_disable == 0,
                  "migrate_enable() without a matching migrate_disable()"))
        return;
    if (--t->migrate_disable == 0 && unlikely(t->affinity_pending))
        apply_pending_affinity();
}

u32 migrate_disable_count() {
    const Task* t = current();
    return t ? t->migrate_disable : 0;
}

void pagefault_disable() {
    if (Task* t = current())
        ++t->pagefault_disabled;
    compiler_barrier();
}

void pagefault_enable() {
    compiler_barrier();
    Task* t = current();
    if (!t)
        return;
    if (WARN_ONCE("sched.pagefault_underflow", t->pagefault_disabled == 0,
                  "pagefault_enable() without a matching pagefault_disable()"))
        return;
    --t->pagefault_disabled;
}

bool pagefault_disabled() {
    const Task* t = current();
    return t && t->pagefault_disabled;
}

unsigned smp_processor_id_checked(const char* caller) {
    const unsigned cpu = x86::this_cpu_index();
    WARN("percpu.preemptible_access",
         preempt_count() == 0 && migrate_disable_count() == 0 && x86::irqs_enabled(),
         "BUG: using smp_processor_id() in preemptible code: %s, task %s; preemption or "
         "migration must be disabled while the CPU index is used",
         caller, current() ? current()->name : "(none)");
    return cpu;
}

void might_sleep_check(const char* file, int line) {
    // Every call counts (not once): tests expect one hit per offending call.
    WARN("sched.might_sleep", in_atomic() || !x86::irqs_enabled(),
         "BUG: sleeping function called from invalid context at %s:%d\n"
         "in_atomic(): %d, irqs_disabled(): %d, preempt count %#x, task %s",
         file, line, in_atomic(), !x86::irqs_enabled(), preempt_count(),
         current() ? current()->name : "(none)");
}

} // namespace sched

namespace platform {
void preempt_disable() { sched::preempt_disable(); }
void preempt_enable() { sched::preempt_enable(); }
} // namespace platform
