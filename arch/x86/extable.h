// The exception table: instructions allowed to fault, and where to resume.
//
// An entry {insn, fixup} says "if the instruction at insn takes a page
// fault, continue at fixup instead of oopsing". The #PF handler hands the
// fault's details to the fixup code in registers: ECX = the fault address
// (CR2), EDX = the error code. Entries are emitted next to the instruction by
// inline assembly (see nofault.cpp) into the section __ex_table.
#pragma once

#include "arch/x86/interrupt_frame.h"

namespace x86 {

struct ExtableEntry {
    u32 insn;
    u32 fixup;
};

const ExtableEntry* search_exception_table(u32 eip);

// Redirect `frame` to the fixup for its EIP if there is one.
bool fixup_exception(InterruptFrame& frame, u32 fault_address);

} // namespace x86
