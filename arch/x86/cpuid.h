// CPU feature detection (CPUID), read once at boot.
#pragma once

#include "lib/types.h"

namespace x86 {

struct CpuFeatures {
    bool pse;    // 4 MiB pages
    bool pge;    // global pages (CR4.PGE)
    bool pae;
    bool apic;
    bool tsc;
    char vendor[13];
};

const CpuFeatures& cpu_features();
void cpuid_init();

} // namespace x86
