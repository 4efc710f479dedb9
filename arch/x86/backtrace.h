// Frame-pointer backtraces. The kernel is built with frame pointers, so every
// frame starts with [saved %ebp][return address]; the entry code ends the
// chain with %ebp = 0 and the interrupt stubs link across interrupts.
#pragma once

#include "lib/types.h"

namespace x86 {

constexpr unsigned BACKTRACE_MAX_FRAMES = 32;

// Print "Call Trace:" and one line per frame, starting with `eip` and walking
// from the frame `ebp`.
void print_backtrace(u32 eip, u32 ebp);

// Collect up to `max` return addresses from the frame `ebp`; returns the count.
unsigned collect_backtrace(u32 ebp, u32* out, unsigned max);

// Print one code address as "[<c0101234>] function+0x1c/0x40".
void print_code_address(u32 addr);

} // namespace x86
