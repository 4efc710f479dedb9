// Test-only access to the kmap() pool (mm/pkmap.h).
#pragma once

#include "arch/x86/paging.h"
#include "lib/inject.h"

namespace mm {

// kmap() on a full pool: the caller is on the wait queue, marked asleep, and
// has dropped the pool lock; schedule() is still to come. A kunmap here must
// not be lost (it finds the sleeper counted and wakes it).
extern const InjectPoint pkmap_sleep_unlocked;
// The sleeper is back from schedule() and has not retaken the lock: another
// kmap may take the slot that woke it, and it must then sleep again.
extern const InjectPoint pkmap_woken;

// ---- inspection and repair -------------------------------------------------

int pkmap_count(u32 nr);
x86::Pte pkmap_pte(u32 nr);
// Slots held by a caller (count > 1).
unsigned pkmap_held_slots();
// Drop every held slot back to count 1, waking waiters: the test runner's
// repair after a case leaked. Returns how many slots were held.
unsigned pkmap_release_held();
// A fresh pool: every count-1 slot cleared (with a flush if any), the cursor
// back to 0, so the next miss takes slot 1. Returns false, changing nothing,
// if a slot is held.
bool pkmap_test_reset();
// The stale-TLB negative control: a wrap flushes only this CPU's TLB.
void pkmap_test_skip_wrap_shootdown(bool skip);

} // namespace mm
