// SMP services: which CPUs are online, cross-CPU function calls, the
// reschedule IPI, and stopping the other CPUs on panic.
//
// Cross-CPU calls (Linux's smp_call_function family): a request is queued on
// the target's lock-free list and an IPI kicks it; the target runs it from
// the IPI handler. A waiting caller spins until every target finished,
// servicing requests queued for its own CPU while it spins, so two CPUs that
// call each other cannot deadlock. Every callback runs with interrupts off,
// whether from the IPI or from such a wait loop, and must leave what it
// interrupted as it found it (kmap_local checks, see idt.h).
//
// The rules for callers (docs/smp.md), as in Linux:
//   - task context, interrupts enabled: with interrupts off two CPUs that
//     call each other wait forever (smp.call_with_irqs_disabled WARNs);
//   - preemption disabled from choosing the targets to the end of the wait:
//     a caller that migrated would skip the CPU it moved away from and run
//     the local part on the wrong one, and one preempted while it owns an
//     asynchronous request slot would stall every later caller on its CPU.
//     on_each_cpu(), smp_call_function() and smp_call_function_single()
//     disable preemption themselves; smp_call_function_many() expects the
//     caller to have done it, WARNs (smp.call_preemptible) when it did not,
//     and then disables it anyway for the call.
#pragma once

#include "arch/x86/interrupt_frame.h"
#include "arch/x86/percpu.h"
#include "lib/atomic.h"

namespace x86 {

using CpuMask = u32;
static_assert(NR_CPUS <= 32, "CpuMask is one word");
constexpr CpuMask cpu_bit(unsigned cpu) { return 1u << cpu; }
// The lowest CPU in a non-empty mask.
constexpr unsigned first_cpu(CpuMask mask) { return static_cast<unsigned>(__builtin_ctz(mask)); }

extern Atomic<CpuMask> cpu_online_mask;
unsigned num_online_cpus();
inline bool cpu_online(unsigned cpu) { return cpu_online_mask.load() & cpu_bit(cpu); }
unsigned num_possible_cpus();   // found by discovery
void set_cpu_online(unsigned cpu);

using CallFn = void (*)(void* arg);

void smp_call_function_many(CpuMask mask, CallFn fn, void* arg, bool wait);
void smp_call_function_single(unsigned cpu, CallFn fn, void* arg, bool wait);
// Every online CPU, this one included (run here with interrupts off).
void on_each_cpu(CallFn fn, void* arg, bool wait);
// Every other online CPU.
void smp_call_function(CallFn fn, void* arg, bool wait);

// Run the requests queued for this CPU. IPI handler and wait loops.
void smp_process_pending_calls();

// The reschedule IPI (it calls the scheduler's upcall, x86/upcalls.h).
void smp_send_reschedule(unsigned cpu);

// Run fn(arg) in the pre-scheduler idle loop of an AP: interrupts enabled,
// off every interrupt stack. The scheduler uses it once per AP to turn the
// AP's boot context into its idle task; after that the slot stays taken and
// this returns false (use kernel threads). Returns false if the CPU is
// offline or its slot is taken.
bool smp_run_on_idle(unsigned cpu, CallFn fn, void* arg);
// Called by an AP's idle loop.
[[noreturn]] void smp_idle_loop();

// Stop every other CPU with an NMI, one at a time: each prints its
// registers and call trace, then halts. For panic.
void smp_stop_other_cpus();

// Ask every other CPU, by NMI, for its registers and call trace. Each CPU
// writes into its own buffer (NMI context never takes the console lock) and
// goes on; `print` is called for each answer, on this CPU, afterwards.
// Waits up to 500 ms per CPU. For the test watchdog.
void smp_backtrace_other_cpus(void (*print)(unsigned cpu, const char* text));

// Interrupt handlers and the NMI handler (boot installs them).
void smp_interrupts_init();

} // namespace x86
