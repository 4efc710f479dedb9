// QEMU's isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=4):
// writing v ends QEMU with status (v << 1) | 1. The two values below are the
// only ones the kernel uses, so the host can tell "the kernel said pass" from
// QEMU's own failures (status 1) and from a triple fault under -no-reboot (0).
#pragma once

#include "lib/types.h"

namespace x86 {

enum class ExitCode : u32 {
    Pass = 0x10,  // QEMU exits with 33
    Fail = 0x11,  // QEMU exits with 35
};

// Ends the run. Without the device (real hardware, or QEMU without it) the
// write does nothing and the CPU halts with interrupts off.
[[noreturn]] void debug_exit(ExitCode code);

} // namespace x86
