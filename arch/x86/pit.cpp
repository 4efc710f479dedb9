#include "arch/x86/pit.h"

#include "arch/x86/cpu.h"
#include "arch/x86/io.h"

namespace x86 {

void pit_wait_ms(u32 ms) {
    const u32 count = PIT_HZ * ms / 1000;
    // Gate channel 2 off, speaker off; mode 0 (interrupt on terminal count), binary.
    outb(0x61, (inb(0x61) & ~0x03) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, count & 0xff);
    outb(0x42, (count >> 8) & 0xff);
    // Restart the count by toggling the gate, then wait for OUT2 (bit 5).
    const u8 gate = inb(0x61);
    outb(0x61, gate & ~0x01);
    outb(0x61, gate | 0x01);
    while (!(inb(0x61) & 0x20))
        pause();
}

} // namespace x86
