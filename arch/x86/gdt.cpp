#include "arch/x86/gdt.h"

#include "arch/x86/double_fault.h"
#include "arch/x86/percpu.h"
#include "lib/string.h"

namespace x86 {
namespace {

CpuTables tables[NR_CPUS];

// access: P DPL S type; flags: G D/B L AVL (the high nibble of byte 6).
constexpr u64 descriptor(u32 base, u32 limit, u8 access, u8 flags) {
    return (u64{limit & 0xffff}) | (u64{base & 0xffffff} << 16) | (u64{access} << 40) |
           (u64{(limit >> 16) & 0xf} << 48) | (static_cast<u64>(flags & 0xf) << 52) | (u64{base >> 24} << 56);
}

constexpr u8 ACCESS_CODE = 0x9a;   // present, ring 0, code, readable
constexpr u8 ACCESS_DATA = 0x92;   // present, ring 0, data, writable
constexpr u8 ACCESS_TSS = 0x89;    // present, ring 0, 32-bit available TSS
constexpr u8 FLAGS_4K_32 = 0xc;    // 4 KiB granularity, 32-bit
constexpr u8 FLAGS_BYTE_32 = 0x4;  // byte granularity, 32-bit

struct [[gnu::packed]] Pointer {
    u16 limit;
    u32 base;
};

} // namespace

CpuTables& cpu_tables(unsigned cpu) { return tables[cpu]; }

void gdt_init(unsigned cpu) {
    CpuTables& t = tables[cpu];
    const auto percpu_base = reinterpret_cast<u32>(&cpu_data[cpu]);
    const auto tss_base = reinterpret_cast<u32>(&t.tss);
    const auto df_base = reinterpret_cast<u32>(&t.double_fault_tss);

    t.gdt[0] = 0;
    t.gdt[SEL_KERNEL_CS / 8] = descriptor(0, 0xfffff, ACCESS_CODE, FLAGS_4K_32);
    t.gdt[SEL_KERNEL_DS / 8] = descriptor(0, 0xfffff, ACCESS_DATA, FLAGS_4K_32);
    // Limit = the block's size: a stray %fs access past the end is a #GP, not
    // a silent write into the next CPU's data.
    t.gdt[SEL_PERCPU / 8] = descriptor(percpu_base, sizeof(PerCpu) - 1, ACCESS_DATA, FLAGS_BYTE_32);
    t.gdt[SEL_TSS / 8] = descriptor(tss_base, sizeof(Tss) - 1, ACCESS_TSS, 0);
    t.gdt[SEL_DOUBLE_FAULT_TSS / 8] = descriptor(df_base, sizeof(Tss) - 1, ACCESS_TSS, 0);

    lib::memset(&t.tss, 0, sizeof(t.tss));
    t.tss.ss0 = SEL_KERNEL_DS;
    t.tss.iomap_base = sizeof(Tss);  // no I/O permission bitmap
    double_fault_tss_init(cpu);

    const Pointer gdtr{sizeof(t.gdt) - 1, reinterpret_cast<u32>(t.gdt)};
    asm volatile(
        "lgdt %0\n\t"
        "ljmp %1, $1f\n"
        "1:\n\t"
        "mov %2, %%ds\n\t"
        "mov %2, %%es\n\t"
        "mov %2, %%ss\n\t"
        "mov %3, %%fs\n\t"
        "mov %4, %%gs\n\t"
        "ltr %5"
        :
        : "m"(gdtr), "i"(SEL_KERNEL_CS), "r"(static_cast<u32>(SEL_KERNEL_DS)),
          "r"(static_cast<u32>(SEL_PERCPU)), "r"(static_cast<u32>(SEL_NULL)),
          "r"(static_cast<u16>(SEL_TSS))
        : "memory");
}

} // namespace x86
