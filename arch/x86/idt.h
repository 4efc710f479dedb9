// Interrupt descriptor table: all 256 vectors point at the entry stubs; C++
// handlers are registered per vector.
#pragma once

#include "arch/x86/interrupt_frame.h"

namespace x86 {

constexpr unsigned NR_EXCEPTIONS = 32;
constexpr unsigned IRQ_BASE = 0x20;  // legacy PIC vectors after remapping

using InterruptHandler = void (*)(InterruptFrame& frame);
// An exception handler returns true when it resolved the exception; false
// makes the exception fatal (the report in exceptions.cpp).
using ExceptionHandler = bool (*)(InterruptFrame& frame);

void idt_init();   // build the table (boot CPU)
void idt_load();   // load it on this CPU

void set_interrupt_handler(unsigned vector, InterruptHandler handler);


// The preempt count's hardirq and NMI units (sched/preempt.h has the rest).
constexpr u32 PREEMPT_HARDIRQ_OFFSET = 1u << 16;
constexpr u32 PREEMPT_NMI_OFFSET = 1u << 20;

// Code that runs on top of whatever it interrupted - a hardirq handler, an
// exception handler, a cross-CPU callback run from the IPI or from a wait
// loop - must leave that context as it found it. The scheduler hooks in
// once, on behalf of the subsystems that keep per-task state (sched/hooks.h:
// kmap_local checks the interrupted task's stack depth): `enter` fills a few
// words that `exit` gets back. They live on the handler's own stack, so
// nesting needs no per-CPU bookkeeping and a handler that sleeps (a page
// fault in a faultable region) keeps its own. Not called for NMIs.
enum class NestedContext : u8 { Hardirq, Exception, CrossCpuCall };
constexpr unsigned NESTED_SAVED_WORDS = 4;
struct NestedSaved {
    u32 used;   // words that enter filled: what exit may read
    u32 word[NESTED_SAVED_WORDS];
};
struct NestedContextHooks {
    void (*enter)(NestedSaved& saved);
    void (*exit)(const NestedSaved& saved, NestedContext kind);
};
// Once; a second registration is refused (x86.nested_hooks_taken).
void set_nested_context_hooks(const NestedContextHooks& hooks);

// For the dispatchers (interrupts, exceptions, cross-CPU calls).
struct NestedToken {
    const NestedContextHooks* hooks;   // null: no check (none, or they came later)
    NestedSaved saved;
};
inline void nested_context_enter(NestedToken& token);
inline void nested_context_exit(const NestedToken& token, NestedContext kind) {
    if (token.hooks)
        token.hooks->exit(token.saved, kind);
}

// Prints "Task: <name> ..." in fatal reports, once the scheduler runs.
void describe_current_task();

// Called inside a fatal exception report, after the error code: mm uses it
// to say which region a faulting address belongs to.
using FaultAnnotator = void (*)(const InterruptFrame& frame, u32 fault_address);
void set_fault_annotator(FaultAnnotator annotator);
void set_exception_handler(unsigned vector, ExceptionHandler handler);

namespace detail {
inline const NestedContextHooks* nested_hooks = nullptr;
}

// Exit is paired with enter: the hooks may be installed while a handler is
// already running on another CPU.
inline void nested_context_enter(NestedToken& token) {
    token.hooks = __atomic_load_n(&detail::nested_hooks, __ATOMIC_ACQUIRE);
    if (token.hooks)
        token.hooks->enter(token.saved);
}

} // namespace x86
