// Global descriptor table and task-state segments, one set per CPU.
//
// Flat 4 GiB code and data segments for ring 0 (himem has no user mode), a
// per-CPU data segment for %fs (see percpu.h), the CPU's TSS, and a second TSS
// reserved for the double-fault task gate.
#pragma once

#include "lib/types.h"

namespace x86 {

constexpr u16 SEL_NULL = 0x00;
constexpr u16 SEL_KERNEL_CS = 0x08;
constexpr u16 SEL_KERNEL_DS = 0x10;
constexpr u16 SEL_PERCPU = 0x18;
constexpr u16 SEL_TSS = 0x20;
constexpr u16 SEL_DOUBLE_FAULT_TSS = 0x28;
constexpr unsigned GDT_ENTRIES = 6;

struct [[gnu::packed]] Tss {
    u16 link, reserved0;
    u32 esp0;
    u16 ss0, reserved1;
    u32 esp1;
    u16 ss1, reserved2;
    u32 esp2;
    u16 ss2, reserved3;
    u32 cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u16 es, reserved4, cs, reserved5, ss, reserved6, ds, reserved7, fs, reserved8, gs, reserved9;
    u16 ldt, reserved10;
    u16 trap, iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct CpuTables {
    u64 gdt[GDT_ENTRIES];
    Tss tss;
    Tss double_fault_tss;
};

CpuTables& cpu_tables(unsigned cpu);

// Build and load CPU `cpu`'s GDT, reload every segment register (%fs gets the
// per-CPU segment) and load the task register.
void gdt_init(unsigned cpu);

} // namespace x86
