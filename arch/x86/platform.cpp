// The kernel's implementation of lib/platform.h.
#include "lib/platform.h"

#include "arch/x86/backtrace.h"
#include "arch/x86/cpu.h"
#include "arch/x86/debug_exit.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/uart16550.h"

namespace platform {

// irq_save ... preempt_enable are inline (sched/platform_inline.h).
void console_write(const char* text, size_t len) { x86::uart_write(text, len); }

[[gnu::noinline]] void dump_stack() {
    // Start at our caller: this frame is noise in every report.
    const auto* frame = static_cast<const u32*>(__builtin_frame_address(0));
    x86::print_backtrace(frame[1] - 1, frame[0]);
}

void stop_other_cpus() { x86::smp_stop_other_cpus(); }

void die() { x86::debug_exit(x86::ExitCode::Fail); }

} // namespace platform
