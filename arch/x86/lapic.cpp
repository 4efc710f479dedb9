#include "arch/x86/lapic.h"

#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/pit.h"
#include "lib/printk.h"

namespace x86 {
namespace {

constexpr u32 REG_ID = 0x20;
constexpr u32 REG_TPR = 0x80;
constexpr u32 REG_EOI = 0xb0;
constexpr u32 REG_SVR = 0xf0;
constexpr u32 REG_ESR = 0x280;
constexpr u32 REG_ICR_LOW = 0x300;
constexpr u32 REG_ICR_HIGH = 0x310;
constexpr u32 REG_LVT_TIMER = 0x320;
constexpr u32 REG_LVT_LINT0 = 0x350;
constexpr u32 REG_LVT_LINT1 = 0x360;
constexpr u32 REG_LVT_ERROR = 0x370;
constexpr u32 REG_TIMER_INIT = 0x380;
constexpr u32 REG_TIMER_CURRENT = 0x390;
constexpr u32 REG_TIMER_DIVIDE = 0x3e0;

constexpr u32 SVR_ENABLE = 1u << 8;
constexpr u32 LVT_MASKED = 1u << 16;
constexpr u32 TIMER_PERIODIC = 1u << 17;
constexpr u32 ICR_PENDING = 1u << 12;
constexpr u32 ICR_LEVEL_ASSERT = 1u << 14;
constexpr u32 DIVIDE_BY_16 = 0x3;

volatile u32* base = nullptr;
u32 ticks_per_second = 0;

u32 read(u32 reg) { return base[reg / 4]; }
void write(u32 reg, u32 v) { base[reg / 4] = v; }

void wait_icr_idle() {
    for (u32 i = 0; i < 1000000 && (read(REG_ICR_LOW) & ICR_PENDING); ++i)
        pause();
}

void send_icr(u32 apic_id, u32 low) {
    const u32 flags = irq_save();
    wait_icr_idle();
    write(REG_ICR_HIGH, apic_id << 24);
    write(REG_ICR_LOW, low);
    irq_restore(flags);
}

} // namespace

u64 lapic_phys_base() { return rdmsr(MSR_IA32_APIC_BASE) & 0xfffff000ull; }
void lapic_set_base(u32 virt) { base = reinterpret_cast<volatile u32*>(virt); }
bool lapic_present() { return base != nullptr; }

void lapic_init() {
    write(REG_TPR, 0);
    write(REG_LVT_LINT0, LVT_MASKED);
    write(REG_LVT_LINT1, LVT_MASKED);
    write(REG_LVT_ERROR, LVT_MASKED);
    write(REG_LVT_TIMER, LVT_MASKED);
    write(REG_ESR, 0);
    write(REG_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
    write(REG_EOI, 0);
}

u32 lapic_id() { return read(REG_ID) >> 24; }
void lapic_eoi() { write(REG_EOI, 0); }

void lapic_timer_calibrate() {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED);
    u32 best = ~0u;
    for (int i = 0; i < 3; ++i) {
        write(REG_TIMER_INIT, 0xffffffff);
        pit_wait_ms(10);
        const u32 elapsed = 0xffffffff - read(REG_TIMER_CURRENT);
        if (elapsed < best)
            best = elapsed;
    }
    write(REG_TIMER_INIT, 0);
    ticks_per_second = best * 100;
    printk("lapic: timer %u ticks/s (divide 16), HZ=%u\n", ticks_per_second, HZ);
}

void lapic_timer_start() {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, TIMER_PERIODIC | VECTOR_TIMER);
    write(REG_TIMER_INIT, ticks_per_second / HZ);
}

u32 lapic_timer_ticks_per_second() { return ticks_per_second; }

void lapic_send_ipi(u32 apic_id, u8 vector, IpiDelivery mode) {
    send_icr(apic_id, static_cast<u32>(mode) | (mode == IpiDelivery::Nmi ? 0 : vector));
}

void lapic_send_init(u32 apic_id) {
    send_icr(apic_id, static_cast<u32>(IpiDelivery::Init) | ICR_LEVEL_ASSERT);
}

void lapic_send_startup(u32 apic_id, u8 page) {
    send_icr(apic_id, static_cast<u32>(IpiDelivery::Startup) | ICR_LEVEL_ASSERT | page);
}

} // namespace x86
