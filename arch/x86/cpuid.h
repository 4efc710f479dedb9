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
    bool pse36;  // 36-bit frames in large pages; without 0x80000008, MAXPHYADDR 36
    bool nx;     // execute-disable (CPUID 0x80000001 EDX bit 20): usable with PAE only
    // MAXPHYADDR: the physical address bits a PAE entry may use; the bits of
    // a frame above it are reserved (a walk that meets one faults). CPUID
    // 0x80000008 says; without that leaf, 36 with PSE36 and 32 without
    // (SDM vol. 3 §4.1.4). QEMU's qemu32 has neither: 32 bits, no RAM above
    // 4 GiB even with PAE; `-cpu qemu32,pse36=on` gives 36.
    u8 phys_bits;
    char vendor[13];
};

const CpuFeatures& cpu_features();
void cpuid_init();

} // namespace x86
