// The host tests' stand-in for the machine (lib/platform.h): interrupts are a
// flag, the CPU id and preempt count are settable, and console output is
// collected in a string the tests can read.
#pragma once

#include <string>

namespace fake_platform {

void reset();
std::string& console();
bool irqs_on();
void set_cpu(unsigned cpu);
unsigned dump_stack_calls();
unsigned die_calls();
unsigned preempt_depth();

// Thrown by platform::die(), so a host test can observe a panic.
struct Died {};

} // namespace fake_platform
