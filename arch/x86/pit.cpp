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
    // The one spin-wait without pause: it runs only while the boot CPU
    // calibrates its clocks, before any other CPU is started, so there is
    // nobody to hand over to; and under QEMU's record/replay each pause is
    // an event in the log (with it, calibration alone was 90 MB of log and
    // 150 s of replay; docs/debugging.md).
    while (!(inb(0x61) & 0x20))
        continue;
}

} // namespace x86
