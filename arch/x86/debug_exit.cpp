#include "arch/x86/debug_exit.h"

#include "arch/x86/cpu.h"
#include "arch/x86/io.h"

namespace x86 {

constexpr u16 DEBUG_EXIT_PORT = 0xf4;

void debug_exit(ExitCode code) {
    outl(DEBUG_EXIT_PORT, static_cast<u32>(code));
    halt_forever();
}

} // namespace x86
