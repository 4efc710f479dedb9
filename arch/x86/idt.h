// Interrupt descriptor table: all 256 vectors point at the entry stubs; C++
// handlers are registered per vector.
#pragma once

#include "arch/x86/interrupt_frame.h"

namespace x86 {

constexpr unsigned NR_EXCEPTIONS = 32;
constexpr unsigned IRQ_BASE = 0x20;  // legacy PIC vectors after remapping

using InterruptHandler = void (*)(InterruptFrame& frame);
// An exception handler returns true when it resolved the exception; false
// makes the exception fatal (the report in exceptions.cpp).
using ExceptionHandler = bool (*)(InterruptFrame& frame);

void idt_init();   // build the table (boot CPU)
void idt_load();   // load it on this CPU

void set_interrupt_handler(unsigned vector, InterruptHandler handler);
void set_exception_handler(unsigned vector, ExceptionHandler handler);

} // namespace x86
