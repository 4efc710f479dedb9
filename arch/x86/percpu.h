// Per-CPU data, reached through %fs.
//
// Each CPU's GDT has a data segment whose base is that CPU's PerCpu block and
// whose limit is the block's size, and %fs holds its selector. A field is then
// one %fs-relative load: no interrupt-off window is needed to read "my" data,
// because the instruction cannot be split by a migration. The block begins with
// a pointer to itself, so this_cpu() is one load too. Offsets that assembly
// uses are named constants checked by static_assert below.
#pragma once

#include "lib/types.h"

namespace x86 {

// 32, not 16: the fixmap reserves 33 kmap slots per possible CPU in both
// builds (KM_SLOTS_PER_CPU), and 33 x 32 of them reach below 0xffc00000 into
// a second page table, so the L4 test, which checks the linear PTE array
// against a page-table walk over every reserved slot, crosses a page-table
// boundary in both builds. kmap_local's own slots cross it only in the debug
// build (KM_MAX_IDX 33), and only CPU 31's, whose whole block lies in the
// lower table (the matrix boots at most 8 CPUs); the release build's 16 x 32
// slots all lie in the top one.
constexpr unsigned NR_CPUS = 32;

struct PerCpu {
    PerCpu* self;
    u32 cpu_index;       // 0..NR_CPUS-1, dense, the boot CPU is 0
    u32 apic_id;         // the LAPIC's ID: not the same numbering as cpu_index
    void* current;       // the running task (sched::Task, opaque here)
    u32 preempt_count;
    u32 irq_depth;
    u32 exceptions;      // exceptions taken on this CPU
    u32 interrupts;      // device and IPI interrupts taken on this CPU
    u32 timer_ticks;
    u32 calls_received;  // call-function requests run here for other CPUs
    u32 reschedules_received;
    u32 nmis;
    u32 need_resched;    // set by the tick, wake-ups and the reschedule IPI
    u32 pkrs;            // the emulated protection-key rights register (x86/pkrs.h)
    u32 pkrs_writes;     // its real writes (value changes)
    // kmap_local's block of this CPU (mm/kmap_local.h), fixed at boot: the
    // PTE and the address of position 0; position p is p entries and p
    // pages below them. One %fs load instead of a multiply per map.
    void* kmap_pte;
    u32 kmap_vaddr;
    // This CPU's TLB counters (x86/tlb.h). Only this CPU writes them, each
    // with one %fs-relative instruction, which no interrupt can split: no
    // lock prefix. Other CPUs only read them.
    u32 tlb_invlpg;
    u32 tlb_full_flushes;
    u32 tlb_shootdowns_received;
};

// The preempt count's top bit, set while NO reschedule is pending (x86
// Linux's PREEMPT_NEED_RESCHED): preempt_enable() is then one decrement,
// whose result is zero exactly when the count drops to zero with a
// reschedule pending (sched/preempt.h). Only this CPU changes the bit.
constexpr u32 PREEMPT_NEED_RESCHED = 1u << 31;

constexpr u32 PERCPU_SELF = 0;
constexpr u32 PERCPU_CPU_INDEX = 4;
constexpr u32 PERCPU_CURRENT = 12;
constexpr u32 PERCPU_PREEMPT_COUNT = 16;
constexpr u32 PERCPU_IRQ_DEPTH = 20;
static_assert(__builtin_offsetof(PerCpu, self) == PERCPU_SELF);
static_assert(__builtin_offsetof(PerCpu, cpu_index) == PERCPU_CPU_INDEX);
static_assert(__builtin_offsetof(PerCpu, current) == PERCPU_CURRENT);
static_assert(__builtin_offsetof(PerCpu, preempt_count) == PERCPU_PREEMPT_COUNT);
static_assert(__builtin_offsetof(PerCpu, irq_depth) == PERCPU_IRQ_DEPTH);

extern PerCpu cpu_data[NR_CPUS];

// Read or write a field of this CPU's block with one %fs-relative access.
#define PERCPU_READ(field)                                                        \
    ({                                                                            \
        static_assert(sizeof(::x86::PerCpu::field) == 4);                         \
        u32 percpu_v_;                                                            \
        asm volatile("movl %%fs:%c1, %0"                                          \
                     : "=r"(percpu_v_)                                            \
                     : "i"(__builtin_offsetof(::x86::PerCpu, field)));            \
        percpu_v_;                                                                \
    })

#define PERCPU_ADD(field, value)                                                  \
    asm volatile("addl %1, %%fs:%c0"                                              \
                 : : "i"(__builtin_offsetof(::x86::PerCpu, field)), "ri"(value) : "memory")

#define PERCPU_AND(field, value)                                                  \
    asm volatile("andl %1, %%fs:%c0"                                              \
                 : : "i"(__builtin_offsetof(::x86::PerCpu, field)), "ri"(value) : "memory")
#define PERCPU_OR(field, value)                                                   \
    asm volatile("orl %1, %%fs:%c0"                                               \
                 : : "i"(__builtin_offsetof(::x86::PerCpu, field)), "ri"(value) : "memory")

// Decrement; true if the result has its top bit set (the sign flag).
#define PERCPU_DEC_STAYS_NEGATIVE(field)                                          \
    ({                                                                            \
        bool percpu_neg_;                                                         \
        asm volatile("decl %%fs:%c1"                                              \
                     : "=@ccs"(percpu_neg_)                                       \
                     : "i"(__builtin_offsetof(::x86::PerCpu, field))              \
                     : "memory");                                                 \
        percpu_neg_;                                                              \
    })

#define PERCPU_INC(field)                                                         \
    asm volatile("incl %%fs:%c0" : : "i"(__builtin_offsetof(::x86::PerCpu, field)) : "memory")
#define PERCPU_DEC(field)                                                         \
    asm volatile("decl %%fs:%c0" : : "i"(__builtin_offsetof(::x86::PerCpu, field)) : "memory")

inline PerCpu* this_cpu() { return reinterpret_cast<PerCpu*>(PERCPU_READ(self)); }
inline unsigned this_cpu_index() { return PERCPU_READ(cpu_index); }
inline u32 this_cpu_irq_depth() { return PERCPU_READ(irq_depth); }

// Fill in CPU `index`'s block. Called before its GDT is loaded.
void percpu_init(unsigned index, u32 apic_id);

} // namespace x86
