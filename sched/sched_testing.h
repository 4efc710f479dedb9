// Test-only access to the scheduler (sched/sched.h).
#pragma once

#include "lib/inject.h"

namespace sched {

// set_cpus_allowed(): the new CPU is chosen (Task::migrate_to) and the switch
// that moves the task is still to come. A test forces a preemption here.
extern const InjectPoint set_cpus_allowed_chosen;

} // namespace sched
