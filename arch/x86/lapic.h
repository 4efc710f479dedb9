// The local APIC (xAPIC, memory-mapped). boot/ maps its page through the
// fixmap (FIX_APIC_BASE, uncached) and hands the address over.
#pragma once

#include "lib/types.h"

namespace x86 {

// Interrupt vectors himem uses above the exceptions.
constexpr u8 VECTOR_TIMER = 0x40;
constexpr u8 VECTOR_TEST = 0xe0;            // software `int` in tests (works with IF=0)
constexpr u8 VECTOR_CALL_FUNCTION = 0xf0;
constexpr u8 VECTOR_RESCHEDULE = 0xf1;
constexpr u8 VECTOR_SPURIOUS = 0xff;

constexpr u32 HZ = 100;

u64 lapic_phys_base();                // from IA32_APIC_BASE
void lapic_set_base(u32 virt);
bool lapic_present();

// Per CPU: software-enable, spurious vector, local interrupts masked, TPR 0.
void lapic_init();
u32 lapic_id();
void lapic_eoi();

// Calibrate once (boot CPU), then start the periodic timer on each CPU.
void lapic_timer_calibrate();
void lapic_timer_start();
u32 lapic_timer_ticks_per_second();

enum class IpiDelivery : u32 { Fixed = 0, Nmi = 4 << 8, Init = 5 << 8, Startup = 6 << 8 };

void lapic_send_ipi(u32 apic_id, u8 vector, IpiDelivery mode = IpiDelivery::Fixed);
void lapic_send_init(u32 apic_id);
void lapic_send_startup(u32 apic_id, u8 page);

} // namespace x86
