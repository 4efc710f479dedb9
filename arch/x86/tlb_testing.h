// Test-only access to the TLB layer (arch/x86/tlb.h).
#pragma once

#include "lib/atomic.h"

namespace x86 {

// flush_tlb_kernel_range() flushes only the initiating CPU: the stale-read
// negative control.
extern Atomic<bool> tlb_test_skip_shootdown;

} // namespace x86
