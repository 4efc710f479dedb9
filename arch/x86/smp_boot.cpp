#include "arch/x86/smp_boot.h"

#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/idt.h"
#include "arch/x86/lapic.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/printk.h"
#include "lib/string.h"

extern "C" char trampoline_start[], trampoline_end[];
extern "C" char trampoline_cr3[], trampoline_cr4[], trampoline_stack[], trampoline_entry[],
    trampoline_cpu[], trampoline_efer[];
extern "C" void ap_entry();

namespace x86 {
namespace {

Atomic<u32> reported{~0u};
ApOnlineHook online_hook = nullptr;

void set_word(void* page, const char* field, u32 value) {
    lib::memcpy(static_cast<char*>(page) + (field - trampoline_start), &value, 4);
}

} // namespace

void trampoline_install(void* page) {
    lib::memcpy(page, trampoline_start, static_cast<size_t>(trampoline_end - trampoline_start));
}

void set_ap_online_hook(ApOnlineHook hook) { online_hook = hook; }

bool start_ap(unsigned cpu, u32 stack_top, void* page) {
    set_word(page, trampoline_cr3, read_cr3());
    set_word(page, trampoline_cr4, read_cr4());
    set_word(page, trampoline_efer, nx_enabled() ? static_cast<u32>(EFER_NXE) : 0);
    set_word(page, trampoline_stack, stack_top);
    set_word(page, trampoline_entry, reinterpret_cast<u32>(&ap_entry));
    set_word(page, trampoline_cpu, cpu);
    reported.store(~0u);

    const u32 apic = cpu_data[cpu].apic_id;
    lapic_send_init(apic);
    mdelay(10);
    for (int attempt = 0; attempt < 2 && reported.load() != cpu; ++attempt) {
        lapic_send_startup(apic, TRAMPOLINE_PHYS >> 12);
        udelay(200);
    }
    // Under TCG a vCPU thread may take a while to be scheduled: wait up to 2 s.
    const u64 deadline = now_ns() + 2000000000ull;
    while (reported.load() != cpu && now_ns() < deadline)
        pause();
    return reported.load() == cpu;
}

} // namespace x86

extern "C" [[noreturn]] void ap_start(unsigned cpu) {
    using namespace x86;
    gdt_init(cpu);
    idt_load();
    lapic_init();
    lapic_timer_start();
    set_cpu_online(cpu);
    printk("smp: CPU %u online (APIC ID %u)\n", cpu, lapic_id());
    if (online_hook)
        online_hook(cpu);
    reported.store(cpu);
    smp_idle_loop();
}
