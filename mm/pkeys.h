// Protection keys (issue 17): the numbers every user of a key agrees on.
//
// PKRS has two bits for each of 16 keys (spec §6.2). Key 0 is the key of
// every page nobody tagged and means "no restriction beyond the PTE", so a
// consumer's key is never 0.
#pragma once

#include "lib/types.h"

namespace mm {

constexpr unsigned NR_PKEYS = 16;
constexpr u8 PKEY_DEFAULT = 0;

// The pmem domain's key. Stands in for the key allocator, which will give
// pmem its key by name; until then mm_init passes this one.
constexpr u8 PMEM_KEY = 1;
static_assert(PMEM_KEY != PKEY_DEFAULT && PMEM_KEY < NR_PKEYS);

} // namespace mm
