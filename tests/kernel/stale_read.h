// The stale-TLB probe shared by the shootdown tests: CPU B reads a kernel
// address, waits while CPU A changes what it maps, and reads it again. Only
// a flush that reaches B makes the second read see the change.
//
// B runs `stale_reader` from the call-function IPI, so with interrupts off,
// and between its two reads it executes no invlpg and writes neither CR3
// nor CR4: it only polls for cross-CPU requests, which is how a shootdown
// reaches it (TCG keeps B's software TLB until B itself flushes).
#pragma once

#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "lib/atomic.h"

namespace ktest {

struct StaleRead {
    volatile u32* va = nullptr;
    Atomic<u32> read_once{0};
    Atomic<u32> changed{0};
    Atomic<u32> finished{0};
    u32 first = 0;
    u32 second = 0;

    // Start B's first read and wait for it.
    void start(unsigned cpu_b, volatile u32* address) {
        va = address;
        read_once.store(0);
        changed.store(0);
        finished.store(0);
        x86::smp_call_function_single(cpu_b, stale_reader, this, false);
        while (!read_once.load())
            x86::pause();
    }

    // A has changed the mapping (and flushed, or not): B reads again.
    u32 finish() {
        changed.store(1);
        while (!finished.load())
            x86::pause();
        return second;
    }

    static void stale_reader(void* arg) {
        auto* s = static_cast<StaleRead*>(arg);
        s->first = *s->va;
        s->read_once.store(1);
        while (!s->changed.load()) {
            x86::smp_process_pending_calls();
            x86::pause();
        }
        s->second = *s->va;
        s->finished.store(1);
    }
};

} // namespace ktest
