// The exception table: instructions allowed to fault, and where to resume.
//
// An entry {insn, fixup, type} says "if the instruction at insn takes a page
// fault the kernel does not resolve, continue at fixup instead of oopsing".
// Type FIXUP_FAULT_INFO hands the fault's details to the fixup code in
// registers: ECX = the fault address (CR2), EDX = the error code. Type
// FIXUP_KEEP_REGISTERS leaves every register as the fault left it (a string
// copy's ECX is then the count not copied). Entries are emitted next to the
// instruction by inline assembly (nofault.cpp) into the section __ex_table.
#pragma once

#include "arch/x86/interrupt_frame.h"

namespace x86 {

constexpr u32 FIXUP_FAULT_INFO = 0;
constexpr u32 FIXUP_KEEP_REGISTERS = 1;

struct ExtableEntry {
    u32 insn;
    u32 fixup;
    u32 type;
};

const ExtableEntry* search_exception_table(u32 eip);

// Redirect `frame` to the fixup for its EIP if there is one.
bool fixup_exception(InterruptFrame& frame, u32 fault_address);

} // namespace x86
