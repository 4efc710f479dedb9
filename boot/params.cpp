#include "boot/params.h"

#include "boot/multiboot.h"
#include "lib/printk.h"
#include "lib/string.h"

namespace boot {

KernelParams params;

namespace {

void report(void*, const char* message) { printk("%s\n", message); }

} // namespace

void parse_params() {
    const cmdline::Param table[] = {
        {"ktest.filter", cmdline::Kind::String, params.ktest_filter, sizeof(params.ktest_filter)},
        {"ktest.list", cmdline::Kind::Flag, &params.ktest_list},
        {"ktest.crash", cmdline::Kind::String, params.ktest_crash, sizeof(params.ktest_crash)},
        {"ktest.stress", cmdline::Kind::Uint, &params.ktest_stress},
        {"ktest.timeout", cmdline::Kind::Uint, &params.ktest_timeout},
        {"ktest.bench_ops", cmdline::Kind::Uint, &params.ktest_bench_ops},
        {"ktest.bench_passes", cmdline::Kind::Uint, &params.ktest_bench_passes},
        {"ktest.soak_seconds", cmdline::Kind::Uint, &params.ktest_soak_seconds},
        {"ktest.harness_misreport", cmdline::Kind::Flag, &params.ktest_harness_misreport},
        {"mem", cmdline::Kind::Size, &params.mem},
        {"highmem", cmdline::Kind::Size, &params.highmem},
        {"pmem", cmdline::Kind::SizeAt, &params.pmem},
        {"acpi", cmdline::Kind::String, params.acpi, sizeof(params.acpi)},
        {"idle", cmdline::Kind::String, params.idle, sizeof(params.idle)},
        {"ktest.cpus", cmdline::Kind::Uint, &params.ktest_cpus},
        {"pkmap.stats", cmdline::Kind::Flag, &params.pkmap_stats},
        {"pks.mode", cmdline::Kind::String, params.pks_mode, sizeof(params.pks_mode)},
        {"kmap.audit", cmdline::Kind::Flag, &params.kmap_audit},
        {"ktest.kmap_audit_unrecorded", cmdline::Kind::Flag, &params.ktest_kmap_audit_unrecorded},
    };
    if (!boot_info.has_cmdline)
        return;
    // QEMU's -kernel puts the image path first; GRUB 2 passes only arguments.
    cmdline::parse(boot_info.cmdline, table, array_size(table), report, nullptr,
                   /*skip_image_path=*/true, boot_info.cmdline_truncated);
    if (params.acpi[0] && lib::strcmp(params.acpi, "off") != 0) {
        printk("cmdline: acpi=%s: only acpi=off is understood, ignored\n", params.acpi);
        params.acpi[0] = '\0';
    }
    if (params.idle[0] && lib::strcmp(params.idle, "poll") != 0) {
        printk("cmdline: idle=%s: only idle=poll is understood, ignored\n", params.idle);
        params.idle[0] = '\0';
    }
    if (params.pks_mode[0] && lib::strcmp(params.pks_mode, "strict") != 0 &&
        lib::strcmp(params.pks_mode, "relaxed") != 0) {
        printk("cmdline: pks.mode=%s: strict or relaxed, ignored (relaxed stays)\n", params.pks_mode);
        params.pks_mode[0] = '\0';
    }
    if (params.kmap_audit && !HIMEM_DEBUG) {
        printk("cmdline: kmap.audit refused: the audit exists only in the debug build "
               "(tools/himem run --debug); kmap_atomic keeps its side effects\n");
        params.kmap_audit = false;
    }
    if (params.ktest_cpus > 32) {
        printk("cmdline: ktest.cpus=%llu is more than NR_CPUS, ignored\n",
               static_cast<unsigned long long>(params.ktest_cpus));
        params.ktest_cpus = 0;
    }
}

} // namespace boot
