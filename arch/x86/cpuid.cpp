#include "arch/x86/cpuid.h"

#include "arch/x86/cpu.h"
#include "lib/string.h"

namespace x86 {
namespace {
CpuFeatures features;
}

const CpuFeatures& cpu_features() { return features; }

void cpuid_init() {
    u32 a, b, c, d;
    cpuid(0, 0, a, b, c, d);
    lib::memcpy(features.vendor + 0, &b, 4);
    lib::memcpy(features.vendor + 4, &d, 4);
    lib::memcpy(features.vendor + 8, &c, 4);
    features.vendor[12] = '\0';
    if (a < 1)
        return;
    cpuid(1, 0, a, b, c, d);
    features.pse = d & (1u << 3);
    features.tsc = d & (1u << 4);
    features.pae = d & (1u << 6);
    features.apic = d & (1u << 9);
    features.pge = d & (1u << 13);
}

} // namespace x86
