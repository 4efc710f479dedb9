// What lib/ needs from the machine. The kernel implements this in
// arch/x86/platform.cpp; the host unit tests implement it with fakes
// (tests/host/fake_platform.cpp). Nothing else in lib/ touches hardware.
#pragma once

#include "lib/types.h"

// The fast paths below are what every spinlock acquire and release calls:
// the kernel build defines them inline (HIMEM_PLATFORM_INLINE names its
// header, sched/platform_inline.h); the host tests' fakes are out of line.
#ifdef HIMEM_PLATFORM_INLINE
#include HIMEM_PLATFORM_INLINE
#else
namespace platform {

using IrqFlags = unsigned long;

// Disable interrupts on this CPU and return the previous state.
IrqFlags irq_save();
void irq_restore(IrqFlags flags);
bool irqs_enabled();

// Spin-loop hint (`pause` on x86).
void cpu_relax();

unsigned this_cpu_id();
unsigned preempt_count();
// Spinlocks disable preemption while held, as in Linux. preempt_enable() may
// reschedule when the count drops to zero with interrupts enabled.
void preempt_disable();
void preempt_enable();

} // namespace platform
#endif

namespace platform {

// Raw console sink. Callers serialize lines; this just moves bytes.
void console_write(const char* text, size_t len);

// Print the call chain of the caller, one frame per line.
void dump_stack();

// During a fatal report: stop every other CPU (each says where it was).
void stop_other_cpus();

// After a panic report: stop the machine and report failure. Never returns.
[[noreturn]] void die();

} // namespace platform
