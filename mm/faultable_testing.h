// Test-only access to the faultable region (mm/faultable.h).
#pragma once

#include "lib/inject.h"

namespace mm {

// region_handle_fault(): in task context with interrupts on, CR2 already
// read, before the page is allocated. A test may sleep here: another task's
// fault then overwrites CR2 in between.
extern const InjectPoint region_fault_may_sleep;

} // namespace mm
