#include "arch/x86/percpu.h"

#include "arch/x86/pkrs.h"

namespace x86 {

PerCpu cpu_data[NR_CPUS];

void percpu_init(unsigned index, u32 apic_id) {
    PerCpu& c = cpu_data[index];
    c.self = &c;
    c.cpu_index = index;
    c.apic_id = apic_id;
    c.pkrs = PKRS_DEFAULT;
}

} // namespace x86
