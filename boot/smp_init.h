// Bringing up SMP: the LAPIC and its timer on the boot CPU, CPU discovery
// (ACPI MADT, else the MP table), and starting every AP.
#pragma once

namespace boot {

struct SmpParams {
    bool acpi_off = false;   // acpi=off: skip the MADT, use the MP table
};

void smp_init(const SmpParams& params);

} // namespace boot
