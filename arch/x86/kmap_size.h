// How deep a task's kmap_local stack may be (Linux's asm-generic/kmap_size.h):
// the fixmap reserves this many slots per CPU, and the task keeps this many
// saved PTE values.
#pragma once

#include "lib/types.h"

namespace x86 {

constexpr u32 KM_MAX_IDX_RELEASE = 16;
constexpr u32 KM_MAX_IDX_DEBUG = 33;   // guard slots between entries
constexpr u32 KM_MAX_IDX = HIMEM_DEBUG ? KM_MAX_IDX_DEBUG : KM_MAX_IDX_RELEASE;

} // namespace x86
