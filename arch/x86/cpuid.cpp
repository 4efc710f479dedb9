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
    features.phys_bits = 32;
    if (a < 1)
        return;
    cpuid(1, 0, a, b, c, d);
    features.pse = d & (1u << 3);
    features.tsc = d & (1u << 4);
    features.pae = d & (1u << 6);
    features.apic = d & (1u << 9);
    features.pge = d & (1u << 13);
    features.pse36 = d & (1u << 17);
    features.phys_bits = features.pse36 ? 36 : 32;
    // The extended leaves: QEMU's qemu32 has them (up to 0x80000004) but
    // sets no NX; `-cpu qemu32,nx=on` adds it.
    cpuid(0x80000000, 0, a, b, c, d);
    const u32 last_extended = a;
    if (last_extended < 0x80000001 || last_extended > 0x8000ffff)
        return;
    cpuid(0x80000001, 0, a, b, c, d);
    features.nx = d & (1u << 20);
    if (last_extended >= 0x80000008) {
        cpuid(0x80000008, 0, a, b, c, d);
        if ((a & 0xff) >= 32)
            features.phys_bits = static_cast<u8>(a & 0xff);
    }
}

} // namespace x86
