// Test-only access to the kmap() pool (mm/pkmap.h).
#pragma once

#include "lib/inject.h"

namespace mm {

// kmap() on a full pool: the caller is on the wait queue, marked asleep, and
// has dropped the pool lock; schedule() is still to come. A kunmap here must
// not be lost (it finds the sleeper counted and wakes it).
extern const InjectPoint pkmap_sleep_unlocked;
// The sleeper is back from schedule() and has not retaken the lock: another
// kmap may take the slot that woke it, and it must then sleep again.
extern const InjectPoint pkmap_woken;

} // namespace mm
