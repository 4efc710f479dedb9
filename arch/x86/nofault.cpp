#include "arch/x86/nofault.h"

namespace x86 {

namespace {

NofaultObserver nofault_observer = nullptr;

// Inline, so that the observer's return address is in the nofault_*() call.
[[gnu::always_inline]] inline void observe_nofault() {
    if (HIMEM_DEBUG) {
        if (const NofaultObserver o = __atomic_load_n(&nofault_observer, __ATOMIC_RELAXED); unlikely(o))
            o();
    }
}

} // namespace

void set_nofault_observer(NofaultObserver observer) {
    __atomic_store_n(&nofault_observer, observer, __ATOMIC_RELEASE);
}

// Each access is one instruction at local label 1; its extable entry sends a
// fault to label 3, which reports failure. The #PF handler has loaded ECX
// with CR2 and EDX with the error code by then (extable.h).
#define NOFAULT_ACCESS(insn, ...)                                                 \
    asm volatile("xorl %%ecx, %%ecx\n\t"                                          \
                 "xorl %%edx, %%edx\n\t"                                          \
                 "movl $1, %[ok]\n"                                               \
                 "1:\t" insn "\n"                                                 \
                 "2:\n"                                                           \
                 ".pushsection .fixup, \"ax\"\n"                                  \
                 "3:\tmovl $0, %[ok]\n\t"                                         \
                 "jmp 2b\n"                                                       \
                 ".popsection\n"                                                  \
                 ".pushsection __ex_table, \"a\"\n\t"                             \
                 ".long 1b, 3b, 0\n"                                              \
                 ".popsection"                                                    \
                 __VA_ARGS__)

NofaultResult nofault_read32(const void* addr, u32* value) {
    observe_nofault();
    u32 ok, v = 0, cr2, err;
    NOFAULT_ACCESS("movl (%[a]), %[v]",
                   : [ok] "=&r"(ok), [v] "+r"(v), "=&c"(cr2), "=&d"(err)
                   : [a] "r"(addr)
                   : "memory");
    if (ok)
        *value = v;
    return {ok != 0, err, cr2};
}

NofaultResult nofault_write32(void* addr, u32 value) {
    observe_nofault();
    u32 ok, cr2, err;
    NOFAULT_ACCESS("movl %[v], (%[a])",
                   : [ok] "=&r"(ok), "=&c"(cr2), "=&d"(err)
                   : [a] "r"(addr), [v] "r"(value)
                   : "memory");
    return {ok != 0, err, cr2};
}

NofaultResult nofault_read8(const void* addr, u8* value) {
    observe_nofault();
    u32 ok, cr2, err;
    u8 v = 0;
    NOFAULT_ACCESS("movb (%[a]), %[v]",
                   : [ok] "=&r"(ok), [v] "+q"(v), "=&c"(cr2), "=&d"(err)
                   : [a] "r"(addr)
                   : "memory");
    if (ok)
        *value = v;
    return {ok != 0, err, cr2};
}

NofaultResult nofault_write8(void* addr, u8 value) {
    observe_nofault();
    u32 ok, cr2, err;
    NOFAULT_ACCESS("movb %[v], (%[a])",
                   : [ok] "=&r"(ok), "=&c"(cr2), "=&d"(err)
                   : [a] "r"(addr), [v] "q"(value)
                   : "memory");
    return {ok != 0, err, cr2};
}

u32 copy_with_fixup(void* dst, const void* src, u32 n) {
    // A fault the kernel resolves restarts the rep where it stopped; one it
    // does not resolve lands at 2 with ECX = the bytes not copied.
    asm volatile("1:\trep movsb\n"
                 "2:\n"
                 ".pushsection __ex_table, \"a\"\n\t"
                 ".long 1b, 2b, 1\n"
                 ".popsection"
                 : "+D"(dst), "+S"(src), "+c"(n)
                 :
                 : "memory");
    return n;
}

} // namespace x86
