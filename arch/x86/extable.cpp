#include "arch/x86/extable.h"

extern "C" const x86::ExtableEntry __start___ex_table[];
extern "C" const x86::ExtableEntry __stop___ex_table[];

namespace x86 {

const ExtableEntry* search_exception_table(u32 eip) {
    for (const ExtableEntry* e = __start___ex_table; e < __stop___ex_table; ++e)
        if (e->insn == eip)
            return e;
    return nullptr;
}

bool fixup_exception(InterruptFrame& frame, u32 fault_address) {
    const ExtableEntry* e = search_exception_table(frame.eip);
    if (!e)
        return false;
    if (e->type == FIXUP_FAULT_INFO) {
        frame.ecx = fault_address;
        frame.edx = frame.error_code;
    }
    frame.eip = e->fixup;
    return true;
}

} // namespace x86
