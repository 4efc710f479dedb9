// Kernel memory access that cannot oops: a fault on the access is caught by
// the exception table and reported back, with its address and error code.
// For probing (tests, backtraces of possibly corrupt stacks), not for user
// copies (those come with the faultable region).
#pragma once

#include "lib/types.h"

namespace x86 {

struct NofaultResult {
    bool ok;
    u32 error_code;   // the #PF error code when !ok (P=1, W=2, ...)
    u32 address;      // CR2 when !ok

    explicit operator bool() const { return ok; }
};

NofaultResult nofault_read32(const void* addr, u32* value);
NofaultResult nofault_write32(void* addr, u32 value);
NofaultResult nofault_read8(const void* addr, u8* value);
NofaultResult nofault_write8(void* addr, u8 value);

// Copy n bytes; a page fault the kernel does not resolve (page faults
// disabled, a bad address) stops the copy. Returns the bytes not copied.
// The primitive under the faultable region's copy helpers.
u32 copy_with_fixup(void* dst, const void* src, u32 n);

// Debug build: called before each nofault_*() access, which counts on a
// fault not being resolved (mm/kmap_audit.h sets it under kmap.audit).
using NofaultObserver = void (*)();
void set_nofault_observer(NofaultObserver observer);

} // namespace x86
