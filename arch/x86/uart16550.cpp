#include "arch/x86/uart16550.h"

#include "arch/x86/cpu.h"
#include "arch/x86/io.h"

namespace x86 {
namespace {

constexpr u16 COM1 = 0x3f8;
constexpr u16 REG_DATA = 0;        // DLAB=0: THR/RBR; DLAB=1: divisor low
constexpr u16 REG_IER = 1;         // DLAB=1: divisor high
constexpr u16 REG_FCR = 2;
constexpr u16 REG_LCR = 3;
constexpr u16 REG_MCR = 4;
constexpr u16 REG_LSR = 5;
constexpr u8 LCR_8N1 = 0x03;
constexpr u8 LCR_DLAB = 0x80;
constexpr u8 LSR_THR_EMPTY = 0x20;
constexpr u32 BAUD_BASE = 115200;
constexpr u32 BAUD = 115200;

bool present = false;

void put(char c) {
    // Bounded wait: a missing or wedged UART must not hang the kernel.
    for (unsigned spins = 0; spins < 100000; ++spins) {
        if (inb(COM1 + REG_LSR) & LSR_THR_EMPTY)
            break;
        pause();
    }
    outb(COM1 + REG_DATA, static_cast<u8>(c));
}

} // namespace

void uart_init() {
    outb(COM1 + REG_IER, 0);                       // no interrupts
    outb(COM1 + REG_LCR, LCR_DLAB);
    outb(COM1 + REG_DATA, BAUD_BASE / BAUD);       // divisor low
    outb(COM1 + REG_IER, 0);                       // divisor high
    outb(COM1 + REG_LCR, LCR_8N1);
    outb(COM1 + REG_FCR, 0xc7);                    // FIFO on, cleared, 14-byte threshold
    outb(COM1 + REG_MCR, 0x03);                    // DTR, RTS
    present = inb(COM1 + REG_LSR) != 0xff;         // floating bus reads all ones
}

void uart_write(const char* text, size_t len) {
    if (!present)
        return;
    for (size_t i = 0; i < len; ++i) {
        if (text[i] == '\n')
            put('\r');
        put(text[i]);
    }
}

} // namespace x86
