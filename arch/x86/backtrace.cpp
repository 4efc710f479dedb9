#include "arch/x86/backtrace.h"

#include "arch/x86/layout.h"
#include "arch/x86/nofault.h"
#include "lib/ksym.h"
#include "lib/printk.h"

namespace x86 {

// Frames are read with nofault loads: a corrupt %ebp ends the trace instead of
// faulting inside a crash report.
unsigned collect_backtrace(u32 ebp, u32* out, unsigned max) {
    unsigned n = 0;
    while (n < max && ebp % 4 == 0 && ebp >= KERNEL_VMA && ebp <= 0xfffffff8u) {
        const u32* frame = reinterpret_cast<const u32*>(ebp);
        u32 ret = 0, next = 0;
        if (!nofault_read32(frame + 1, &ret) || !nofault_read32(frame, &next) || ret == 0)
            break;
        out[n++] = ret;
        if (next <= ebp)   // stacks grow down: callers' frames are higher
            break;
        ebp = next;
    }
    return n;
}

void print_code_address(u32 addr) {
    u32 offset = 0, size = 0;
    if (const char* name = ksym::lookup(addr, &offset, &size))
        printk("  [<%08x>] %s+0x%x/0x%x\n", addr, name, offset, size);
    else
        printk("  [<%08x>] ?\n", addr);
}

void print_backtrace(u32 eip, u32 ebp) {
    printk("Call Trace:\n");
    print_code_address(eip);
    u32 frames[BACKTRACE_MAX_FRAMES];
    const unsigned n = collect_backtrace(ebp, frames, BACKTRACE_MAX_FRAMES);
    // A return address points after the call; show the call's own address.
    // Runs of one frame (deep recursion) are shown once with a count.
    for (unsigned i = 0; i < n;) {
        unsigned same = 1;
        while (i + same < n && frames[i + same] == frames[i])
            ++same;
        print_code_address(frames[i] - 1);
        if (same > 2) {
            printk("  ... the frame above repeated %u more times\n", same - 1);
        } else if (same == 2) {
            print_code_address(frames[i] - 1);
        }
        i += same;
    }
}

} // namespace x86
