#include "tests/host/fake_platform.h"

#include "lib/platform.h"

namespace {
bool irq_flag = true;
unsigned cpu = 0;
unsigned stack_dumps = 0;
unsigned deaths = 0;
unsigned preempt = 0;
std::string output;
} // namespace

namespace fake_platform {
void reset() {
    irq_flag = true;
    cpu = 0;
    stack_dumps = 0;
    deaths = 0;
    preempt = 0;
    output.clear();
}
std::string& console() { return output; }
bool irqs_on() { return irq_flag; }
void set_cpu(unsigned c) { cpu = c; }
unsigned dump_stack_calls() { return stack_dumps; }
unsigned die_calls() { return deaths; }
unsigned preempt_depth() { return preempt; }
} // namespace fake_platform

namespace platform {
IrqFlags irq_save() {
    const IrqFlags was = irq_flag;
    irq_flag = false;
    return was;
}
void irq_restore(IrqFlags flags) { irq_flag = flags != 0; }
bool irqs_enabled() { return irq_flag; }
void cpu_relax() {}
unsigned this_cpu_id() { return cpu; }
unsigned preempt_count() { return preempt; }
void preempt_disable() { ++preempt; }
void preempt_enable() { --preempt; }
void console_write(const char* text, size_t len) { output.append(text, len); }
void dump_stack() {
    ++stack_dumps;
    output += "Call Trace:\n  [<00000000>] fake\n";
}
void stop_other_cpus() {}
void die() {
    ++deaths;
    throw fake_platform::Died{};
}
} // namespace platform
