// CPU exceptions: dispatch to a registered handler, or report and stop.
//
// The report names the vector, decodes the error code (with CR2 for a page
// fault), prints every register and the frame-pointer chain, then panics.
#include "arch/x86/backtrace.h"
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/percpu.h"
#include "lib/bug.h"
#include "lib/printk.h"

namespace x86 {

extern ExceptionHandler exception_handlers[NR_EXCEPTIONS];

namespace {

struct VectorInfo {
    const char* mnemonic;
    const char* name;
};

constexpr VectorInfo vectors[NR_EXCEPTIONS] = {
    {"#DE", "Divide Error"},
    {"#DB", "Debug"},
    {"NMI", "Non-Maskable Interrupt"},
    {"#BP", "Breakpoint"},
    {"#OF", "Overflow"},
    {"#BR", "BOUND Range Exceeded"},
    {"#UD", "Invalid Opcode"},
    {"#NM", "Device Not Available"},
    {"#DF", "Double Fault"},
    {"CSO", "Coprocessor Segment Overrun"},
    {"#TS", "Invalid TSS"},
    {"#NP", "Segment Not Present"},
    {"#SS", "Stack-Segment Fault"},
    {"#GP", "General Protection"},
    {"#PF", "Page Fault"},
    {"#15", "Reserved"},
    {"#MF", "x87 Floating-Point Error"},
    {"#AC", "Alignment Check"},
    {"#MC", "Machine Check"},
    {"#XM", "SIMD Floating-Point Exception"},
    {"#VE", "Virtualization Exception"},
    {"#CP", "Control Protection"},
    {"#22", "Reserved"}, {"#23", "Reserved"}, {"#24", "Reserved"}, {"#25", "Reserved"},
    {"#26", "Reserved"}, {"#27", "Reserved"},
    {"#HV", "Hypervisor Injection"},
    {"#VC", "VMM Communication"},
    {"#SX", "Security Exception"},
    {"#31", "Reserved"},
};

constexpr u32 PF_P = 1u << 0, PF_W = 1u << 1, PF_U = 1u << 2, PF_RSVD = 1u << 3, PF_I = 1u << 4,
              PF_PK = 1u << 5, PF_SS = 1u << 6;

FaultAnnotator fault_annotator = nullptr;

bool has_selector_error_code(u32 v) { return v == 10 || v == 11 || v == 12 || v == 13 || v == 17; }

void print_error_code(const InterruptFrame& f) {
    const u32 e = f.error_code;
    if (f.vector == 14) {
        printk("error code 0x%04x: %s, %s, %s mode%s%s%s%s\n", e,
               (e & PF_P) ? "protection violation" : "not-present page",
               (e & PF_I) ? "instruction fetch" : (e & PF_W) ? "write" : "read",
               (e & PF_U) ? "user" : "supervisor", (e & PF_RSVD) ? ", reserved bit set" : "",
               (e & PF_PK) ? ", protection key" : "", (e & PF_SS) ? ", shadow stack" : "",
               "");
        printk("CR2 (fault address): %08x\n", read_cr2());
    } else if (has_selector_error_code(f.vector)) {
        if (e == 0) {
            printk("error code 0x0000: no segment selector involved\n");
        } else {
            const char* table = (e & 2) ? "IDT" : (e & 4) ? "LDT" : "GDT";
            printk("error code 0x%04x: %s index %u (selector 0x%04x)%s\n", e, table,
                   (e >> 3) & 0x1fff, e & 0xfff8, (e & 1) ? ", external event" : "");
        }
    } else if (f.vector == 8) {
        printk("error code 0x%04x (always zero for #DF)\n", e);
    }
    if (f.vector == 7)
        printk("note: CR0.EM/TS are set so that any x87/MMX/SSE instruction traps here; the kernel "
               "is built without FPU code, so this is a stray instruction\n");
    if (f.vector == 6)
        printk("note: SSE instructions raise #UD too (CR4.OSFXSR is clear)\n");
}

} // namespace

void set_fault_annotator(FaultAnnotator annotator) {
    WARN("x86.fault_annotator_taken", !publish_once(fault_annotator, annotator),
         "a second fault annotator: the first stays");
}

const char* exception_mnemonic(unsigned vector) {
    return vector < NR_EXCEPTIONS ? vectors[vector].mnemonic : "IRQ";
}

void print_registers(const InterruptFrame& f) {
    printk("EIP: %04x:%08x EFLAGS: %08x CPU: %u\n", f.cs & 0xffff, f.eip, f.eflags,
           this_cpu_index());
    printk("EAX: %08x EBX: %08x ECX: %08x EDX: %08x\n", f.eax, f.ebx, f.ecx, f.edx);
    printk("ESI: %08x EDI: %08x EBP: %08x ESP: %08x\n", f.esi, f.edi, f.ebp, f.interrupted_esp());
    printk("DS: %04x ES: %04x FS: %04x GS: %04x\n", f.ds & 0xffff, f.es & 0xffff, f.fs & 0xffff,
           f.gs & 0xffff);
    printk("CR0: %08x CR2: %08x CR3: %08x CR4: %08x\n", read_cr0(), read_cr2(), read_cr3(),
           read_cr4());
}

[[noreturn]] void fatal_exception(const InterruptFrame& f) {
    oops_begin();
    const VectorInfo& v = vectors[f.vector];
    printk("------------[ cut here ]------------\n");
    printk("Fatal exception %s: %s (vector %u) in kernel mode\n", v.mnemonic, v.name, f.vector);
    print_error_code(f);
    if (f.vector == 14 && fault_annotator)
        fault_annotator(f, read_cr2());
    print_registers(f);
    describe_current_task();
    print_backtrace(f.eip, f.ebp);
    printk("---[ end trace ]---\n");
    char reason[64];
    lib::format(reason, sizeof(reason), "Fatal exception %s", v.mnemonic);
    char site[32];
    lib::format(site, sizeof(site), "x86.exception.%s", v.mnemonic[0] == '#' ? v.mnemonic + 1 : v.mnemonic);
    oops_end(site, reason);
}

void exception_dispatch(InterruptFrame& frame) {
    if (ExceptionHandler h = exception_handlers[frame.vector]) {
        if (h(frame))
            return;
    }
    fatal_exception(frame);
}

} // namespace x86
