// Control registers, flags and the few instructions generic code reaches
// through small wrappers. Everything here is a single instruction or two.
#pragma once

#include "lib/types.h"

namespace x86 {

constexpr u32 EFLAGS_TF = 1u << 8;   // trap flag: a debug exception after every instruction
constexpr u32 EFLAGS_IF = 1u << 9;

constexpr u32 CR0_PE = 1u << 0;
constexpr u32 CR0_MP = 1u << 1;
constexpr u32 CR0_EM = 1u << 2;
constexpr u32 CR0_TS = 1u << 3;
constexpr u32 CR0_NE = 1u << 5;
constexpr u32 CR0_WP = 1u << 16;
constexpr u32 CR0_PG = 1u << 31;

constexpr u32 CR4_PSE = 1u << 4;
constexpr u32 CR4_PAE = 1u << 5;
constexpr u32 CR4_PGE = 1u << 7;

inline u32 read_cr0() { u32 v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
inline u32 read_cr2() { u32 v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline u32 read_cr3() { u32 v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
inline u32 read_cr4() { u32 v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr0(u32 v) { asm volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
inline void write_cr3(u32 v) { asm volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
inline void write_cr4(u32 v) { asm volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

inline u32 read_eflags() {
    u32 v;
    asm volatile("pushfl; popl %0" : "=r"(v) : : "memory");
    return v;
}
// Every flag at once (popf): the trap flag, which has no instruction of its own.
inline void write_eflags(u32 v) { asm volatile("pushl %0; popfl" : : "r"(v) : "memory", "cc"); }

inline void cli() { asm volatile("cli" : : : "memory"); }
inline void sti() { asm volatile("sti" : : : "memory"); }
inline void hlt() { asm volatile("hlt" : : : "memory"); }
inline void pause() { asm volatile("pause" : : : "memory"); }
// Enable interrupts and halt as one: sti's one-instruction shadow means an
// interrupt cannot slip in between and be missed until the next one.
inline void safe_halt() { asm volatile("sti; hlt" : : : "memory"); }

inline u32 irq_save() {
    const u32 flags = read_eflags();
    cli();
    return flags;
}
inline void irq_restore(u32 flags) {
    if (flags & EFLAGS_IF)
        sti();
}
inline bool irqs_enabled() { return read_eflags() & EFLAGS_IF; }

[[noreturn]] inline void halt_forever() {
    for (;;) {
        cli();
        hlt();
    }
}

inline void cpuid(u32 leaf, u32 subleaf, u32& a, u32& b, u32& c, u32& d) {
    asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(subleaf));
}

inline u64 rdtsc() {
    u32 lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (u64{hi} << 32) | lo;
}

} // namespace x86
