#include "arch/x86/idt.h"

#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/idt_testing.h"
#include "arch/x86/percpu.h"
#include "arch/x86/upcalls.h"
#include "lib/bug.h"

extern "C" const u32 interrupt_stub_table[256];

namespace x86 {

void exception_dispatch(InterruptFrame& frame);   // exceptions.cpp
ExceptionHandler exception_handlers[NR_EXCEPTIONS];

namespace {

u64 idt[256];
InterruptHandler interrupt_handlers[256];
ExceptionHandler exception_observer;   // idt_testing.h

constexpr u8 GATE_INTERRUPT = 0x8e;  // present, ring 0, 32-bit interrupt gate
constexpr u8 GATE_TASK = 0x85;       // present, ring 0, task gate

constexpr u64 gate(u32 offset, u16 selector, u8 type) {
    return (u64{offset & 0xffff}) | (u64{selector} << 16) | (u64{type} << 40) |
           (u64{offset >> 16} << 48);
}

struct [[gnu::packed]] Pointer {
    u16 limit;
    u32 base;
};

} // namespace

void idt_init() {
    for (unsigned v = 0; v < 256; ++v)
        idt[v] = gate(interrupt_stub_table[v], SEL_KERNEL_CS, GATE_INTERRUPT);
    // #DF switches to the double-fault task: its own TSS and stack survive a
    // kernel stack overflow (double_fault.h).
    idt[8] = gate(0, SEL_DOUBLE_FAULT_TSS, GATE_TASK);
    idt_load();
}

void idt_load() {
    const Pointer idtr{sizeof(idt) - 1, reinterpret_cast<u32>(idt)};
    asm volatile("lidt %0" : : "m"(idtr));
}

void set_interrupt_handler(unsigned vector, InterruptHandler handler) {
    BUG_ON(vector < NR_EXCEPTIONS || vector >= 256);
    interrupt_handlers[vector] = handler;
}

void set_nested_context_hooks(const NestedContextHooks& hooks) {
    WARN("x86.nested_hooks_taken", !publish_once(detail::nested_hooks, &hooks),
         "nested-context hooks registered twice: the first stay");
}
void set_scheduler_upcalls(const SchedulerUpcalls& upcalls) {
    WARN("x86.upcalls_taken", !publish_once(detail::upcalls, &upcalls),
         "scheduler upcalls registered twice: the first stay");
}

void describe_current_task() {
    if (const auto describe = detail::scheduler_upcalls().describe_task)
        describe();
}

void set_exception_handler(unsigned vector, ExceptionHandler handler) {
    BUG_ON(vector >= NR_EXCEPTIONS);
    exception_handlers[vector] = handler;
}

void set_exception_observer(ExceptionHandler observer) {
    WARN("x86.observer_taken", observer && exception_observer,
         "an exception observer set over another one");
    __atomic_store_n(&exception_observer, observer, __ATOMIC_RELEASE);
}

} // namespace x86

extern "C" void interrupt_dispatch(x86::InterruptFrame* frame) {
    using namespace x86;
    if (frame->vector == 2) {
        PERCPU_ADD(preempt_count, PREEMPT_NMI_OFFSET);
        PERCPU_INC(exceptions);
        exception_dispatch(*frame);
        PERCPU_ADD(preempt_count, -PREEMPT_NMI_OFFSET);
        return;
    }
    if (frame->vector < NR_EXCEPTIONS) {
        // Faults run in the context they interrupted (a task's page fault
        // may sleep once the faultable region exists): no hardirq count.
        PERCPU_INC(exceptions);
        if (const ExceptionHandler observe = __atomic_load_n(&exception_observer, __ATOMIC_ACQUIRE);
            unlikely(observe) && observe(*frame))
            return;
        NestedToken token;
        nested_context_enter(token);
        exception_dispatch(*frame);
        nested_context_exit(token, NestedContext::Exception);
        return;
    }
    PERCPU_INC(interrupts);
    PERCPU_INC(irq_depth);
    PERCPU_ADD(preempt_count, PREEMPT_HARDIRQ_OFFSET);
    NestedToken token;
    nested_context_enter(token);
    if (InterruptHandler h = interrupt_handlers[frame->vector])
        h(*frame);
    else
        WARN_ONCE("x86.unexpected_interrupt", true, "unexpected interrupt on vector %u", frame->vector);
    nested_context_exit(token, NestedContext::Hardirq);
    PERCPU_ADD(preempt_count, -PREEMPT_HARDIRQ_OFFSET);
    PERCPU_DEC(irq_depth);
    // Preemption at interrupt exit, on the interrupted task's stack.
    const auto irq_exit_preempt = detail::scheduler_upcalls().irq_exit_preempt;
    if (irq_exit_preempt && (frame->eflags & EFLAGS_IF) && PERCPU_READ(preempt_count) == 0 &&
        PERCPU_READ(need_resched))
        irq_exit_preempt();
}
