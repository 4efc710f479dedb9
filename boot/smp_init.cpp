#include "boot/smp_init.h"

#include "arch/x86/acpi.h"
#include "arch/x86/cpu.h"
#include "arch/x86/double_fault.h"
#include "arch/x86/lapic.h"
#include "arch/x86/mptable.h"
#include "arch/x86/paging.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/smp_boot.h"
#include "arch/x86/time.h"
#include "lib/format.h"
#include "lib/printk.h"
#include "mm/fixmap.h"
#include "mm/page.h"
#include "mm/pgtable.h"
#include "mm/vmalloc.h"

namespace x86 {
// Defined here: how many CPUs discovery found (smp.h).
namespace {
unsigned possible = 1;
}
unsigned num_possible_cpus() { return possible; }
} // namespace x86

namespace boot {
namespace {

constexpr u32 AP_STACK_BYTES = 16 * 1024;

void* early_map(u64 phys, u32 size) { return mm::early_ioremap(mm::PhysAddr(phys), size); }
void early_unmap(void* addr, u32 size) { mm::early_iounmap(addr, size); }
const x86::acpi::PhysWindow window{early_map, early_unmap};

char stack_names[x86::NR_CPUS][24];

void lapic_bring_up() {
    const u64 phys = x86::lapic_phys_base();
    mm::set_fixmap(mm::FIX_APIC_BASE, mm::PhysAddr(phys),
                   x86::PTE_PRESENT | x86::PTE_WRITE | x86::PTE_PCD | x86::PTE_PWT);
    x86::lapic_set_base(mm::fix_to_virt(mm::FIX_APIC_BASE));
    x86::smp_interrupts_init();
    x86::lapic_init();
    x86::cpu_data[0].apic_id = x86::lapic_id();
    x86::set_cpu_online(0);
    x86::tsc_calibrate();
    x86::lapic_timer_calibrate();
    x86::lapic_timer_start();
    // Handlers and the LAPIC are ready: from here on the boot CPU takes
    // interrupts (cross-CPU calls such as TLB shootdowns need them).
    x86::sti();
}

} // namespace

void smp_init(const SmpParams& params) {
    lapic_bring_up();

    x86::acpi::CpuList list;
    const bool found = (!params.acpi_off && x86::acpi::madt_cpus(window, &list)) ||
                       x86::mptable::cpus(window, &list);
    if (!found) {
        list.count = 1;
        list.apic_id[0] = x86::cpu_data[0].apic_id;
        list.source = "no firmware table: boot CPU only";
    }
    // CPU 0 is the boot CPU; the others take the next indices in table order.
    unsigned n = 1;
    for (unsigned i = 0; i < list.count; ++i) {
        const u32 apic = list.apic_id[i];
        if (apic == x86::cpu_data[0].apic_id)
            continue;
        if (n == x86::NR_CPUS) {
            printk("smp: CPU with APIC ID %u ignored: NR_CPUS is %u\n", apic, x86::NR_CPUS);
            continue;
        }
        x86::percpu_init(n++, apic);
    }
    x86::possible = n;
    printk("smp: %u CPU(s) from the %s%s\n", n, list.source,
           list.disabled ? " (some listed as disabled)" : "");
    for (unsigned cpu = 0; cpu < n; ++cpu)
        printk("smp: CPU %u: APIC ID %u%s\n", cpu, x86::cpu_data[cpu].apic_id,
               cpu == 0 ? " (boot CPU)" : "");
    if (n == 1)
        return;

    const mm::PhysAddr trampoline(x86::TRAMPOLINE_PHYS);
    if (!mm::map_low_identity_page(trampoline)) {
        printk("smp: no memory to map the trampoline; staying on one CPU\n");
        return;
    }
    void* page = mm::phys_to_virt(trampoline);
    x86::trampoline_install(page);
    for (unsigned cpu = 1; cpu < n; ++cpu) {
        lib::format(stack_names[cpu], sizeof(stack_names[cpu]), "idle stack of CPU %u", cpu);
        auto* stack = static_cast<u8*>(mm::vmalloc(AP_STACK_BYTES, stack_names[cpu]));
        if (!stack) {
            printk("smp: no memory for CPU %u's stack\n", cpu);
            break;
        }
        // vmalloc leaves the page below every area unmapped: the stack's guard.
        x86::register_stack_guard(reinterpret_cast<u32>(stack) - mm::PAGE_SIZE, mm::PAGE_SIZE,
                                  stack_names[cpu]);
        if (!x86::start_ap(cpu, reinterpret_cast<u32>(stack + AP_STACK_BYTES), page))
            printk("smp: CPU %u (APIC ID %u) did not come up\n", cpu, x86::cpu_data[cpu].apic_id);
    }
    mm::unmap_low_identity_page(trampoline);
    printk("smp: %u of %u CPUs online\n", x86::num_online_cpus(), n);
}

} // namespace boot
