#include "arch/x86/smp.h"

#include "arch/x86/backtrace.h"
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/smp_testing.h"
#include "arch/x86/upcalls.h"
#include "arch/x86/time.h"
#include "lib/bug.h"
#include "lib/inject.h"
#include "lib/platform.h"
#include "lib/printk.h"

namespace x86 {

Atomic<CpuMask> cpu_online_mask{0};
constinit const InjectPoint smp_call_queued{"smp.call_queued"};

namespace {

struct Csd {
    Csd* next;
    CallFn fn;
    void* arg;
    Atomic<u32> busy;
};

// Each target's queue: a lock-free LIFO the target drains and runs in FIFO order.
Atomic<Csd*> queues[NR_CPUS];
// Requests that nobody waits for live here: one per (sender, target).
Csd async_csd[NR_CPUS][NR_CPUS];


struct IdleWork {
    Atomic<CallFn> fn;
    void* arg;
};
IdleWork idle_work[NR_CPUS];

Atomic<int> stop_target{-1};
Atomic<int> stop_ack{-1};

constexpr size_t BACKTRACE_BUFFER = 3072;
char backtrace_buffers[NR_CPUS][BACKTRACE_BUFFER];
Atomic<int> backtrace_target{-1};
Atomic<int> backtrace_ack{-1};

void print_nmi_context(const InterruptFrame& frame) {
    printk("EIP: %04x:%08x EFLAGS: %08x EBP: %08x ESP: %08x\n", frame.cs & 0xffff, frame.eip,
           frame.eflags, frame.ebp, frame.interrupted_esp());
    print_backtrace(frame.eip, frame.ebp);
}

// One callback, checked like any handler that runs on top of another context.
void run_callback(CallFn fn, void* arg) {
    NestedToken token;
    nested_context_enter(token);
    fn(arg);
    nested_context_exit(token, NestedContext::CrossCpuCall);
}

void enqueue(unsigned target, Csd* c) {
    Csd* head = queues[target].load(MemoryOrder::Relaxed);
    do {
        c->next = head;
    } while (!queues[target].compare_exchange(head, c, MemoryOrder::Release));
    lapic_send_ipi(cpu_data[target].apic_id, VECTOR_CALL_FUNCTION);
}

void timer_interrupt(InterruptFrame& frame) {
    lapic_eoi();
    PERCPU_INC(timer_ticks);
    if (const auto tick = detail::scheduler_upcalls().timer_tick)
        tick(frame);
}

void call_function_interrupt(InterruptFrame&) {
    lapic_eoi();
    smp_process_pending_calls();
}

void reschedule_interrupt(InterruptFrame&) {
    lapic_eoi();
    PERCPU_INC(reschedules_received);
    if (const auto reschedule = detail::scheduler_upcalls().reschedule)
        reschedule();
}

void spurious_interrupt(InterruptFrame&) {}

bool nmi(InterruptFrame& frame) {
    PERCPU_INC(nmis);
    const unsigned me = this_cpu_index();
    if (stop_target.load() == static_cast<int>(me)) {
        printk("NMI: CPU %u stopped for the panic; it was at:\n", me);
        print_nmi_context(frame);
        stop_ack.store(static_cast<int>(me));
        // NMIs stay blocked: this handler never returns.
        halt_forever();
    }
    if (backtrace_target.load() == static_cast<int>(me)) {
        lib::printk_capture_begin(backtrace_buffers[me], BACKTRACE_BUFFER);
        printk("NMI backtrace of CPU %u:\n", me);
        print_nmi_context(frame);
        lib::printk_capture_end();
        backtrace_ack.store(static_cast<int>(me));
        return true;
    }
    WARN_ONCE("x86.unexpected_nmi", true, "unexpected NMI on CPU %u", me);
    return true;
}

} // namespace

unsigned num_online_cpus() { return __builtin_popcount(cpu_online_mask.load()); }

void set_cpu_online(unsigned cpu) { cpu_online_mask.fetch_or(cpu_bit(cpu)); }

void smp_process_pending_calls() {
    // Off for the callbacks wherever they run: from the IPI they are off
    // already; from a wait loop an interrupt must not land inside one.
    const u32 flags = irq_save();
    const unsigned me = this_cpu_index();
    Csd* list = queues[me].exchange(nullptr, MemoryOrder::Acquire);
    // Reverse into arrival order.
    Csd* ordered = nullptr;
    while (list) {
        Csd* next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    while (ordered) {
        Csd* c = ordered;
        ordered = c->next;   // read before releasing: the sender may reuse c at once
        run_callback(c->fn, c->arg);
        PERCPU_INC(calls_received);
        c->busy.store(0, MemoryOrder::Release);
    }
    irq_restore(flags);
}

void smp_call_function_many(CpuMask mask, CallFn fn, void* arg, bool wait) {
    WARN_ONCE("smp.call_preemptible",
              (PERCPU_READ(preempt_count) & ~PREEMPT_NEED_RESCHED) == 0 && irqs_enabled(),
              "smp_call_function_many() called preemptible: the caller could migrate between "
              "choosing its targets and waiting for them");
    // Whatever the caller did: this CPU's identity, its request slots and the
    // local run must all belong to one CPU until the wait is over.
    platform::preempt_disable();
    const unsigned me = this_cpu_index();
    mask &= cpu_online_mask.load();
    WARN_ONCE("smp.call_with_irqs_disabled", !irqs_enabled() && (mask & ~cpu_bit(me)),
              "cross-CPU call with interrupts disabled: two CPUs doing this wait for each other");
    WARN_ONCE("smp.call_from_interrupt", this_cpu_irq_depth() != 0,
              "cross-CPU call from interrupt context");

    Csd waited[NR_CPUS];
    for (unsigned cpu = 0; cpu < NR_CPUS; ++cpu) {
        if (!(mask & cpu_bit(cpu)) || cpu == me)
            continue;
        Csd* c = wait ? &waited[cpu] : &async_csd[me][cpu];
        // An async descriptor may still be in flight from an earlier call.
        while (c->busy.load(MemoryOrder::Acquire)) {
            smp_process_pending_calls();
            pause();
        }
        c->fn = fn;
        c->arg = arg;
        c->busy.store(1, MemoryOrder::Relaxed);
        enqueue(cpu, c);
    }
    // Where a test tries to preempt and migrate the caller (which must fail).
    inject_point(smp_call_queued);
    if (mask & cpu_bit(me)) {
        // The caller's own part: it interrupts nobody, so no nested check.
        const u32 flags = irq_save();
        fn(arg);
        irq_restore(flags);
    }
    if (wait) {
        for (unsigned cpu = 0; cpu < NR_CPUS; ++cpu) {
            if (!(mask & cpu_bit(cpu)) || cpu == me)
                continue;
            while (waited[cpu].busy.load(MemoryOrder::Acquire)) {
                smp_process_pending_calls();
                pause();
            }
        }
    }
    platform::preempt_enable();
}

// The wrappers own the preemption rule, as Linux's on_each_cpu() does.
void smp_call_function_single(unsigned cpu, CallFn fn, void* arg, bool wait) {
    platform::preempt_disable();
    smp_call_function_many(cpu_bit(cpu), fn, arg, wait);
    platform::preempt_enable();
}

void on_each_cpu(CallFn fn, void* arg, bool wait) {
    platform::preempt_disable();
    smp_call_function_many(~0u, fn, arg, wait);
    platform::preempt_enable();
}

void smp_call_function(CallFn fn, void* arg, bool wait) {
    platform::preempt_disable();
    smp_call_function_many(~cpu_bit(this_cpu_index()), fn, arg, wait);
    platform::preempt_enable();
}

void smp_send_reschedule(unsigned cpu) {
    lapic_send_ipi(cpu_data[cpu].apic_id, VECTOR_RESCHEDULE);
}


bool smp_run_on_idle(unsigned cpu, CallFn fn, void* arg) {
    if (cpu == this_cpu_index() || !cpu_online(cpu) || idle_work[cpu].fn.load())
        return false;
    idle_work[cpu].arg = arg;
    idle_work[cpu].fn.store(fn, MemoryOrder::Release);
    smp_send_reschedule(cpu);   // wakes it from hlt
    return true;
}

void smp_idle_loop() {
    const unsigned me = this_cpu_index();
    for (;;) {
        cli();
        if (CallFn fn = idle_work[me].fn.load(MemoryOrder::Acquire)) {
            sti();
            fn(idle_work[me].arg);
            idle_work[me].fn.store(nullptr, MemoryOrder::Release);
            continue;
        }
        safe_halt();
    }
}

void smp_stop_other_cpus() {
    if (!lapic_present())
        return;
    const unsigned me = this_cpu_index();
    const CpuMask online = cpu_online_mask.load();
    for (unsigned cpu = 0; cpu < NR_CPUS; ++cpu) {
        if (cpu == me || !(online & cpu_bit(cpu)))
            continue;
        stop_target.store(static_cast<int>(cpu));
        lapic_send_ipi(cpu_data[cpu].apic_id, 0, IpiDelivery::Nmi);
        const u64 deadline = now_ns() + 500000000ull;
        while (stop_ack.load() != static_cast<int>(cpu) && now_ns() < deadline)
            pause();
        if (stop_ack.load() != static_cast<int>(cpu))
            printk("NMI: CPU %u did not answer the stop NMI\n", cpu);
    }
    stop_target.store(-1);
}

void smp_backtrace_other_cpus(void (*print)(unsigned cpu, const char* text)) {
    const unsigned me = this_cpu_index();
    const CpuMask online = cpu_online_mask.load();
    for (unsigned cpu = 0; cpu < NR_CPUS; ++cpu) {
        if (cpu == me || !(online & cpu_bit(cpu)))
            continue;
        backtrace_buffers[cpu][0] = '\0';
        backtrace_target.store(static_cast<int>(cpu));
        lapic_send_ipi(cpu_data[cpu].apic_id, 0, IpiDelivery::Nmi);
        const u64 deadline = now_ns() + 500000000ull;
        while (backtrace_ack.load() != static_cast<int>(cpu) && now_ns() < deadline)
            pause();
        backtrace_target.store(-1);
        if (backtrace_ack.load() == static_cast<int>(cpu))
            print(cpu, backtrace_buffers[cpu]);
        else
            print(cpu, "(no answer to the backtrace NMI)\n");
    }
}

void smp_interrupts_init() {
    set_interrupt_handler(VECTOR_TIMER, timer_interrupt);
    set_interrupt_handler(VECTOR_CALL_FUNCTION, call_function_interrupt);
    set_interrupt_handler(VECTOR_RESCHEDULE, reschedule_interrupt);
    set_interrupt_handler(VECTOR_SPURIOUS, spurious_interrupt);
    set_exception_handler(2, nmi);
}

} // namespace x86
