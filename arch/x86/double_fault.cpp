#include "arch/x86/double_fault.h"

#include "arch/x86/backtrace.h"
#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/idt.h"
#include "arch/x86/percpu.h"
#include "lib/bug.h"
#include "lib/printk.h"
#include "lib/spinlock.h"

extern "C" char boot_stack_guard[];
extern "C" void double_fault_entry();

namespace x86 {
namespace {

constexpr u32 DOUBLE_FAULT_STACK = 8192;
alignas(16) char double_fault_stacks[NR_CPUS][DOUBLE_FAULT_STACK];

struct StackGuard {
    u32 base;
    u32 size;
    const char* owner;
};
constexpr unsigned MAX_GUARDS = 256;
StackGuard guards[MAX_GUARDS];
Spinlock guards_lock;

const StackGuard* guard_containing(u32 addr) {
    for (const StackGuard& g : guards)
        if (g.size && addr >= g.base && addr - g.base < g.size)
            return &g;
    return nullptr;
}

} // namespace

void register_stack_guard(u32 base, u32 size, const char* owner) {
    SpinlockIrqsaveGuard lock(guards_lock);
    for (StackGuard& g : guards) {
        if (g.size == 0) {
            g = {base, size, owner};
            return;
        }
    }
    WARN_ONCE("x86.stack_guard_table_full", true, "no room to register the stack guard of %s",
              owner);
}

void unregister_stack_guard(u32 base) {
    SpinlockIrqsaveGuard lock(guards_lock);
    for (StackGuard& g : guards)
        if (g.size && g.base == base)
            g = {};
}

const char* stack_guard_owner(u32 va) {
    const StackGuard* g = guard_containing(va);
    return g ? g->owner : nullptr;
}

void double_fault_tss_init(unsigned cpu) {
    Tss& t = cpu_tables(cpu).double_fault_tss;
    t = {};
    t.eip = reinterpret_cast<u32>(&double_fault_entry);
    t.esp = reinterpret_cast<u32>(double_fault_stacks[cpu] + DOUBLE_FAULT_STACK);
    t.esp0 = t.esp;
    t.cr3 = read_cr3();
    t.eflags = 0x2;   // interrupts off; bit 1 is always set
    t.cs = SEL_KERNEL_CS;
    t.ds = t.es = t.ss = t.ss0 = SEL_KERNEL_DS;
    t.fs = SEL_PERCPU;
    t.iomap_base = sizeof(Tss);
    if (cpu == 0)
        register_stack_guard(reinterpret_cast<u32>(boot_stack_guard), 4096, "boot stack");
}

void double_fault_set_cr3(u32 cr3) {
    for (unsigned cpu = 0; cpu < NR_CPUS; ++cpu)
        cpu_tables(cpu).double_fault_tss.cr3 = cr3;
}

} // namespace x86

// Entered by the task switch, on this CPU's double-fault stack. The faulting
// context is in this CPU's main TSS, where the switch saved it.
extern "C" [[noreturn]] void double_fault_task() {
    using namespace x86;
    const Tss& prev = cpu_tables(this_cpu_index()).tss;
    const u32 cr2 = read_cr2();
    oops_begin();
    printk("------------[ cut here ]------------\n");
    const StackGuard* g = guard_containing(cr2);
    if (!g)
        g = guard_containing(prev.esp);
    if (g) {
        printk("kernel stack overflow of %s: ESP %08x ran into the guard page [%08x-%08x]\n",
               g->owner, prev.esp, g->base, g->base + g->size - 1);
    } else {
        printk("Fatal exception #DF: Double Fault (vector 8) in kernel mode\n");
    }
    printk("handled by the double-fault task (TSS %#x) on its own stack; CR2: %08x\n",
           SEL_DOUBLE_FAULT_TSS, cr2);
    printk("EIP: %04x:%08x EFLAGS: %08x CPU: %u\n", prev.cs, prev.eip, prev.eflags,
           this_cpu_index());
    printk("EAX: %08x EBX: %08x ECX: %08x EDX: %08x\n", prev.eax, prev.ebx, prev.ecx, prev.edx);
    printk("ESI: %08x EDI: %08x EBP: %08x ESP: %08x\n", prev.esi, prev.edi, prev.ebp, prev.esp);
    describe_current_task();
    print_backtrace(prev.eip, prev.ebp);
    printk("---[ end trace ]---\n");
    oops_end(g ? "x86.stack_overflow" : "x86.double_fault",
             g ? "kernel stack overflow" : "double fault");
}
