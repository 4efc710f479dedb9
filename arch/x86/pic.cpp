#include "arch/x86/pic.h"

#include "arch/x86/idt.h"
#include "arch/x86/io.h"

namespace x86 {
namespace {

constexpr u16 PIC1_CMD = 0x20, PIC1_DATA = 0x21;
constexpr u16 PIC2_CMD = 0xa0, PIC2_DATA = 0xa1;

void ignore_spurious(InterruptFrame&) {}

} // namespace

void pic_disable() {
    // Even masked, the PIC can raise a spurious IRQ7/IRQ15; remapping first
    // keeps that from looking like a CPU exception.
    outb(PIC1_CMD, 0x11);            // ICW1: init, ICW4 follows
    io_wait();
    outb(PIC2_CMD, 0x11);
    io_wait();
    outb(PIC1_DATA, IRQ_BASE);       // ICW2: vector offsets
    io_wait();
    outb(PIC2_DATA, IRQ_BASE + 8);
    io_wait();
    outb(PIC1_DATA, 4);              // ICW3: slave on IRQ2
    io_wait();
    outb(PIC2_DATA, 2);
    io_wait();
    outb(PIC1_DATA, 1);              // ICW4: 8086 mode
    io_wait();
    outb(PIC2_DATA, 1);
    io_wait();
    outb(PIC1_DATA, 0xff);           // mask everything
    outb(PIC2_DATA, 0xff);
    set_interrupt_handler(IRQ_BASE + 7, ignore_spurious);
    set_interrupt_handler(IRQ_BASE + 15, ignore_spurious);
}

} // namespace x86
