// The kernel's inline definitions of lib/platform.h's fast paths (the
// interrupt flag, the CPU index, the preempt count), which every spinlock
// acquire and release uses. lib/platform.h includes this file through
// HIMEM_PLATFORM_INLINE, which only the kernel build defines; the host
// tests keep their out-of-line fakes. Includes only leaf headers: it is
// read from inside lib/spinlock.h.
#pragma once

#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "sched/preempt_count.h"

namespace platform {

using IrqFlags = unsigned long;

inline IrqFlags irq_save() { return x86::irq_save(); }
inline void irq_restore(IrqFlags flags) { x86::irq_restore(static_cast<u32>(flags)); }
inline bool irqs_enabled() { return x86::irqs_enabled(); }
inline void cpu_relax() { x86::pause(); }
inline unsigned this_cpu_id() { return x86::this_cpu_index(); }
inline unsigned preempt_count() { return sched::preempt_count(); }
inline void preempt_disable() { sched::preempt_disable(); }
inline void preempt_enable() { sched::preempt_enable(); }

} // namespace platform
