// The register frame built by the interrupt entry stubs (arch/x86/entry.S).
// himem runs only in ring 0, so the CPU pushes no ESP/SS: the interrupted
// stack pointer is the address just past `eflags`.
#pragma once

#include "lib/types.h"

namespace x86 {

struct InterruptFrame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp_pushad, ebx, edx, ecx, eax;  // pushal order, reversed
    u32 vector, error_code;
    u32 eip, cs, eflags;

    u32 interrupted_esp() const { return reinterpret_cast<u32>(&eflags) + sizeof(eflags); }
};

static_assert(__builtin_offsetof(InterruptFrame, eax) == 44);
static_assert(__builtin_offsetof(InterruptFrame, vector) == 48);
static_assert(__builtin_offsetof(InterruptFrame, eip) == 56);
static_assert(sizeof(InterruptFrame) == 68);

} // namespace x86
