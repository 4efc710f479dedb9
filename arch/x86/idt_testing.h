// Test-only access to exception dispatch (arch/x86/idt.h).
#pragma once

#include "arch/x86/idt.h"

namespace x86 {

// An observer sees every exception but NMI first: before the nested-context
// hooks run for it, which change what the interrupted context looks like
// (its protection-key rights and the slots that obey them). A single-step
// test reads the interrupted context exactly as it was. Returning true, it
// has handled the exception and nothing else runs for it. One at a time;
// set it to null to end.
void set_exception_observer(ExceptionHandler observer);

} // namespace x86
