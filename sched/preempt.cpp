#include "sched/preempt.h"

#include "lib/bug.h"
#include "lib/platform.h"
#include "sched/sched.h"
#include "sched/task.h"

namespace sched {

// migrate_enable() took the count below zero (undone here), or to zero
// with an affinity change pending.
void migrate_enable_slow(Task* t) {
    if (WARN_ONCE("sched.migrate_underflow", static_cast<int>(t->migrate_disable) < 0,
                  "migrate_enable() without a matching migrate_disable()")) {
        ++t->migrate_disable;
        return;
    }
    apply_pending_affinity();
}

void pagefault_enable_underflow() {
    WARN_ONCE("sched.pagefault_underflow", true,
              "pagefault_enable() without a matching pagefault_disable()");
}

unsigned smp_processor_id_checked(const char* caller) {
    observe_context(ContextEvent::PercpuAccess);
    const unsigned cpu = x86::this_cpu_index();
    WARN("percpu.preemptible_access",
         preempt_count() == 0 && migrate_disable_count() == 0 && x86::irqs_enabled(),
         "BUG: using smp_processor_id() in preemptible code: %s, task %s; preemption or "
         "migration must be disabled while the CPU index is used",
         caller, current() ? current()->name : "(none)");
    return cpu;
}

// For sched/wait.h, which cannot include this unit's header.
void might_sleep_check(const char* file, int line) {
    observe_context(ContextEvent::MaySleep);
    if (might_sleep_fails())
        might_sleep_report(file, line);
}

void might_sleep_report(const char* file, int line) {
    // Every call counts (not once): tests expect one hit per offending call.
    WARN("sched.might_sleep", true,
         "BUG: sleeping function called from invalid context at %s:%d\n"
         "in_atomic(): %d, irqs_disabled(): %d, preempt count %#x, task %s",
         file, line, preempt_count() != 0, !x86::irqs_enabled(), preempt_count(),
         current() ? current()->name : "(none)");
}

} // namespace sched
