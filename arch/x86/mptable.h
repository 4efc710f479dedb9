// The Intel MultiProcessor Specification table: the fallback CPU list when
// there is no ACPI MADT (or acpi=off).
#pragma once

#include "arch/x86/acpi.h"

namespace x86::mptable {

bool cpus(const acpi::PhysWindow& window, acpi::CpuList* out);

} // namespace x86::mptable
