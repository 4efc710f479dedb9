// The legacy 8259A pair: remapped away from the exception vectors and fully
// masked. himem takes its interrupts from the local APIC (SMP issue).
#pragma once

namespace x86 {

void pic_disable();

} // namespace x86
