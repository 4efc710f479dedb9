// Time: the TSC, calibrated against the PIT at boot. Under TCG the TSC
// follows host time (or, with -icount, the instruction count), which is what
// bounded-time stress tests need.
#pragma once

#include "lib/types.h"

namespace x86 {

void tsc_calibrate();
u64 tsc_khz();
u64 now_ns();
void udelay(u32 us);
inline void mdelay(u32 ms) { udelay(ms * 1000); }

} // namespace x86
