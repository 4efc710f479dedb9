// The 8254 PIT, used only as a reference clock: channel 2 gated through port
// 0x61 counts down a known interval while the TSC and the LAPIC timer are
// calibrated against it. No PIT interrupts are used.
#pragma once

#include "lib/types.h"

namespace x86 {

constexpr u32 PIT_HZ = 1193182;

// Busy-wait `ms` milliseconds (at most 50) on PIT channel 2.
void pit_wait_ms(u32 ms);

} // namespace x86
