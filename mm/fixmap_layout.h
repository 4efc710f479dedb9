// The fixmap's compile-time enumeration (linux-highmem-spec.md §1.4).
//
// Index i maps at FIXADDR_TOP - i pages: a higher index is a lower address.
// Index 0 is a hole that is never mapped. The kmap_local slots are KM_MAX_IDX
// per possible CPU, sized for the debug build's larger KM_MAX_IDX, so both
// builds share one layout. The early-ioremap (boot-time) slots come last.
#pragma once

#include "arch/x86/kmap_size.h"
#include "arch/x86/percpu.h"
#include "lib/types.h"

namespace mm {

constexpr u32 FIXADDR_TOP = 0xfffff000;

using x86::KM_MAX_IDX;
using x86::KM_MAX_IDX_DEBUG;
using x86::KM_MAX_IDX_RELEASE;
constexpr u32 KM_SLOTS_PER_CPU = KM_MAX_IDX_DEBUG;   // the layout fits either build

constexpr u32 NR_FIX_BTMAPS = 16;   // pages per early-ioremap mapping
constexpr u32 FIX_BTMAPS_SLOTS = 4; // simultaneous early-ioremap mappings

enum FixedAddress : u32 {
    FIX_HOLE,
    FIX_APIC_BASE,
    FIX_KMAP_BEGIN,
    FIX_KMAP_END = FIX_KMAP_BEGIN + KM_SLOTS_PER_CPU * x86::NR_CPUS - 1,
    END_OF_PERMANENT_FIXED_ADDRESSES,
    FIX_BTMAP_END = END_OF_PERMANENT_FIXED_ADDRESSES,
    FIX_BTMAP_BEGIN = FIX_BTMAP_END + NR_FIX_BTMAPS * FIX_BTMAPS_SLOTS - 1,
    END_OF_FIXED_ADDRESSES,
};

constexpr u32 FIXADDR_SIZE = END_OF_PERMANENT_FIXED_ADDRESSES << 12;
constexpr u32 FIXADDR_START = FIXADDR_TOP - FIXADDR_SIZE;
constexpr u32 FIXADDR_TOT_START = FIXADDR_TOP - (END_OF_FIXED_ADDRESSES << 12);

} // namespace mm
