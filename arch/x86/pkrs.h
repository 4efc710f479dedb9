// The protection-key rights register for supervisor pages (Intel's PKRS,
// MSR 0x6E1), emulated: i386 paging has no protection keys at all (they exist
// only with IA-32e paging, spec §6.2), so himem keeps the register in
// software, one per CPU, with the real layout, and mm/pks.h makes the page
// tables obey it.
//
// Layout: 16 keys, 2 bits each in the low 32 bits; for key k, bit 2k is
// access-disable (AD) and bit 2k+1 write-disable (WD):
//   00  read/write      10  read-only (WD)      01 or 11  no access (AD)
// himem writes "no access" as 11b, the encoding of the RFC's global mode:
// then rights combine by AND (a grant clears bits), and the restriction of
// a key is the same whichever of the two no-access forms a value uses.
//
// A write to the register is what costs (on hardware a WRMSR; here the
// resynchronisation of the mappings that obey it), so writing the value it
// already holds is skipped, and the real writes are counted per CPU.
#pragma once

#include "arch/x86/percpu.h"
#include "lib/types.h"

namespace x86 {

constexpr unsigned NR_PKEYS = 16;

constexpr u32 pkrs_ad(unsigned key) { return 1u << (2 * key); }
constexpr u32 pkrs_wd(unsigned key) { return 1u << (2 * key + 1); }
constexpr u32 pkrs_key_bits(unsigned key) { return pkrs_ad(key) | pkrs_wd(key); }

enum class PkeyRights : u8 { ReadWrite, ReadOnly, NoAccess };

// `value` with key `key` set to `rights` (no access as 11b).
constexpr u32 pkrs_with(u32 value, unsigned key, PkeyRights rights) {
    value &= ~pkrs_key_bits(key);
    if (rights == PkeyRights::ReadOnly)
        value |= pkrs_wd(key);
    else if (rights == PkeyRights::NoAccess)
        value |= pkrs_key_bits(key);
    return value;
}

// What `value` lets key `key` do (AD alone, or with WD, is no access).
constexpr PkeyRights pkrs_rights(u32 value, unsigned key) {
    if (value & pkrs_ad(key))
        return PkeyRights::NoAccess;
    return value & pkrs_wd(key) ? PkeyRights::ReadOnly : PkeyRights::ReadWrite;
}

// Key 0 read/write (it is every ordinary page's key), every other key no access.
constexpr u32 PKRS_DEFAULT = ~pkrs_key_bits(0);

// This CPU's register.
inline u32 pkrs_read() { return PERCPU_READ(pkrs); }

// Write it; false (and nothing counted) when it already held `value`.
// Interrupts off or preemption off: the value belongs to this CPU.
inline bool pkrs_write(u32 value) {
    if (PERCPU_READ(pkrs) == value)
        return false;
    asm volatile("movl %0, %%fs:%c1" : : "r"(value), "i"(__builtin_offsetof(PerCpu, pkrs))
                 : "memory");
    PERCPU_INC(pkrs_writes);
    return true;
}

// Another CPU's register, and its real writes so far (tests, benchmarks).
inline u32 pkrs_read_on(unsigned cpu) { return __atomic_load_n(&cpu_data[cpu].pkrs, __ATOMIC_RELAXED); }
inline u32 pkrs_writes(unsigned cpu) { return __atomic_load_n(&cpu_data[cpu].pkrs_writes, __ATOMIC_RELAXED); }

} // namespace x86
