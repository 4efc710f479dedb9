// Double faults, handled by a task gate.
//
// A kernel stack overflow runs into an unmapped guard page; the #PF that
// follows cannot push its frame on that stack either, so the CPU raises #DF.
// An ordinary interrupt gate would need the same broken stack and the CPU
// would triple-fault. Vector 8 is therefore a task gate: the CPU saves the
// faulting context in this CPU's TSS and switches to a separate TSS with its
// own stack, from which the report below is printed.
#pragma once

#include "lib/types.h"

namespace x86 {

// A stack whose guard page should be named in a double-fault report.
// Task stacks register themselves (scheduler issue); the boot stack is known.
void register_stack_guard(u32 guard_base, u32 guard_size, const char* owner);
void unregister_stack_guard(u32 guard_base);
// The owner of the stack guard page containing `va`, or null.
const char* stack_guard_owner(u32 va);

// Prepare CPU `cpu`'s double-fault TSS (called from gdt_init).
void double_fault_tss_init(unsigned cpu);

// The double-fault task runs with its own CR3 copy: call this whenever the
// kernel page directory changes.
void double_fault_set_cr3(u32 cr3);

} // namespace x86
