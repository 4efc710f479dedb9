// The kernel's init order.
//
// boot_start() runs on the boot stack straight from entry.S, with paging on
// and only the early mappings. The order matters:
//   1. the per-CPU block and GDT, so %fs works before the first lock or WARN
//      (spinlocks and WARN read the CPU index through it);
//   2. the Multiboot copy-out, before anything can reuse the loader's memory;
//   3. the console, then the IDT and the masked PIC;
//   4. global constructors;
//   5. kernel_main: report what the loader gave us, parse the command line,
//      run the self-tests, exit through isa-debug-exit.
#include "arch/x86/cpuid.h"
#include "arch/x86/debug_exit.h"
#include "arch/x86/gdt.h"
#include "arch/x86/idt.h"
#include "arch/x86/percpu.h"
#include "arch/x86/pic.h"
#include "arch/x86/uart16550.h"
#include "boot/multiboot.h"
#include "boot/params.h"
#include "boot/smp_init.h"
#include "lib/ksym.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "mm/fault.h"
#include "mm/fixmap.h"
#include "mm/init.h"
#include "mm/kmap_audit.h"
#include "mm/kmap_audit_testing.h"
#include "mm/kmap_local.h"
#include "mm/pkmap.h"
#include "mm/pks.h"
#include "sched/sched.h"
#include "tests/ktest/ktest.h"

extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();
extern "C" const char __ksymtab_start[];
extern "C" const char __ksymtab_end[];
extern "C" x86::Pde early_page_directory[];

namespace {

void run_global_constructors() {
    for (auto* ctor = __init_array_start; ctor != __init_array_end; ++ctor)
        (*ctor)();
}

[[noreturn]] void kernel_main() {
    printk("himem: 32-bit x86 highmem kernel, built " __DATE__ " " __TIME__ "%s\n",
           HIMEM_DEBUG ? " (debug)" : "");
    boot::print_boot_info();
    boot::parse_params();
    x86::cpuid_init();
    mm::mm_init({.map = boot::memory_map(), .mem_limit = boot::params.mem,
                 .highmem_bytes = boot::params.highmem, .pmem = &boot::params.pmem});
    boot::smp_init({.acpi_off = boot::params.acpi[0] != '\0'});
    // Subsystems with per-task state register their task hooks first: the
    // scheduler refuses them once it runs.
    mm::kmap_local_init();
    mm::pkmap_init();
    mm::pks_init();
    if (boot::params.kmap_audit) {
        mm::kmap_audit_init();
        if (boot::params.ktest_kmap_audit_unrecorded)
            mm::testing::set_kmap_audit_recording(false);
        // The report comes at the end of the run, before the closing lines.
        ktest::add_closing_note(mm::kmap_audit_print_report);
    }
    if (lib::strcmp(boot::params.pks_mode, "strict") == 0)
        mm::pks_set_mode(mm::PksMode::Strict);
    sched::sched_init({.idle_poll = boot::params.idle[0] != '\0'});

    if (boot::params.ktest_list) {
        ktest::list(boot::params.ktest_filter);
        x86::debug_exit(x86::ExitCode::Pass);
    }
    if (boot::params.ktest_crash[0]) {
        ktest::run_crash(boot::params.ktest_crash);
        x86::debug_exit(x86::ExitCode::Fail);   // a crash test that returns has failed
    }
    ktest::Options options;
    options.filter = boot::params.ktest_filter;
    options.stress = boot::params.ktest_stress > 1000 ? 1000 : static_cast<unsigned>(boot::params.ktest_stress);
    options.misreport_closing = boot::params.ktest_harness_misreport;
    options.bench_ops = static_cast<unsigned>(min<u64>(boot::params.ktest_bench_ops, 10000000));
    options.bench_passes = static_cast<unsigned>(min<u64>(boot::params.ktest_bench_passes, 15));
    options.soak_seconds = static_cast<unsigned>(min<u64>(boot::params.ktest_soak_seconds, 86400));
    options.timeout_s = boot::params.ktest_timeout == 0 || boot::params.ktest_timeout > 3600
                            ? 60
                            : static_cast<unsigned>(boot::params.ktest_timeout);
    const ktest::Summary s = ktest::run(options);
    if (boot::params.pkmap_stats)
        mm::pkmap_print_stats();
    x86::debug_exit(s.ok() ? x86::ExitCode::Pass : x86::ExitCode::Fail);
}

} // namespace

extern "C" [[noreturn]] void boot_start(u32 magic, u32 info_phys) {
    x86::percpu_init(0, 0);
    x86::gdt_init(0);
    // The fixmap's static page tables: early ioremap works from here on.
    mm::fixmap_install(early_page_directory);
    boot::multiboot_copy(magic, info_phys);
    x86::uart_init();
    ksym::set_table(reinterpret_cast<const ksym::Table*>(__ksymtab_start),
                    static_cast<size_t>(__ksymtab_end - __ksymtab_start));
    x86::idt_init();
    mm::fault_init();
    x86::pic_disable();
    run_global_constructors();
    kernel_main();
}
