// Test-only access to the cross-CPU call machinery (arch/x86/smp.h).
#pragma once

#include "lib/inject.h"

namespace x86 {

// smp_call_function_many(): the requests are queued; the local run and the
// wait are still to come. Preemption is off here, so a preemption attempted
// from this point (a test's interrupt) must not switch or migrate the caller.
extern const InjectPoint smp_call_queued;

} // namespace x86
