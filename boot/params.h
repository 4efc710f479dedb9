// Kernel command-line parameters and their defaults.
#pragma once

#include "lib/cmdline.h"

namespace boot {

struct KernelParams {
    char ktest_filter[cmdline::MAX_VALUE + 1] = "*";
    bool ktest_list = false;
    char ktest_crash[64] = "";          // run this crash test instead of the suites
    u64 ktest_stress = 1;               // scale for stress tests
    u64 ktest_timeout = 60;             // seconds per case before the watchdog fires
    u64 ktest_bench_ops = 100000;       // benchmark operations per pass
    u64 ktest_bench_passes = 5;         // benchmark passes (the median is reported)
    u64 ktest_soak_seconds = 10;        // how long the soak runs (tools/himem soak)
    bool ktest_harness_misreport = false;
    u64 mem = 0;                        // mem=SIZE: ignore RAM above SIZE
    u64 highmem = 0;                    // highmem=SIZE: force the top SIZE of RAM into HIGHMEM
    cmdline::SizeAtList pmem;           // pmem=SIZE@ADDR, each one: mm_init takes the first valid
    char acpi[8] = "";                  // acpi=off: find CPUs through the MP table
    char idle[8] = "";                  // idle=poll: idle CPUs poll instead of halting
    u64 ktest_cpus = 0;                 // ktest.cpus=N: the CPUs the runner gave QEMU
    bool pkmap_stats = false;           // pkmap.stats: print the kmap() pool's counters at the end
    char pks_mode[16] = "";              // pks.mode=strict|relaxed: protection-key violations
    bool kmap_audit = false;            // kmap.audit: audit kmap_atomic sections (debug build only)
    bool ktest_kmap_audit_unrecorded = false;  // test knob: the audit records nothing (negative control)
};

extern KernelParams params;

// Parse boot_info's command line into `params`, reporting every problem.
void parse_params();

} // namespace boot
