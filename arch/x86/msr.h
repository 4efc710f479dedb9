// Model-specific registers.
#pragma once

#include "lib/types.h"

namespace x86 {

constexpr u32 MSR_IA32_APIC_BASE = 0x1b;
constexpr u32 MSR_EFER = 0xc0000080;
constexpr u64 EFER_NXE = 1u << 11;   // execute-disable: PTE bit 63 means no fetch

inline u64 rdmsr(u32 msr) {
    u32 lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (u64{hi} << 32) | lo;
}

inline void wrmsr(u32 msr, u64 value) {
    asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<u32>(value)),
                 "d"(static_cast<u32>(value >> 32)));
}

} // namespace x86
