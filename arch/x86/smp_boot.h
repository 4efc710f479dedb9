// Starting the application processors: INIT, then STARTUP twice, with a
// real-mode trampoline at TRAMPOLINE_PHYS. boot/smp_init.cpp drives it (it
// finds the CPUs, allocates stacks and identity-maps the trampoline page).
#pragma once

#include "lib/types.h"

namespace x86 {

constexpr u32 TRAMPOLINE_PHYS = 0x8000;

// Copy the trampoline into its page (given by its kernel virtual address).
void trampoline_install(void* page);

// Start CPU `cpu` (its per-CPU block already holds its APIC ID) on the stack
// ending at stack_top. Returns true once the CPU reported in.
bool start_ap(unsigned cpu, u32 stack_top, void* trampoline_page);

// Called by each AP once it runs in the higher half, before it goes idle.
using ApOnlineHook = void (*)(unsigned cpu);
void set_ap_online_hook(ApOnlineHook hook);

} // namespace x86
