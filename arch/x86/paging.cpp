#include "arch/x86/paging.h"

#include "arch/x86/cpuid.h"
#include "arch/x86/msr.h"
#include "lib/bug.h"

namespace x86 {

namespace {
bool nx_on = false;
}

bool nx_enable() {
    if (PagingMethod::NX_BIT == 0 || !cpu_features().nx)
        return false;
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    nx_on = true;
    return true;
}

bool nx_enabled() { return nx_on; }

void pte_frame_unmappable(Pfn pfn) {
    // What the entry would hold: the frame number cut to the entry's width.
    const Pfn truncated = Pte::from_raw(Pte::Raw{pfn.value()} << lib::PAGE_SHIFT).pfn();
    BUG("paging.frame_unmappable",
        "pfn %#x (physical %#llx) is beyond what a %s PTE can map (below %llu GiB); "
        "mapping it would map pfn %#x instead", pfn.value(),
        static_cast<unsigned long long>(pfn.phys().value()), PAGING_MODE,
        static_cast<unsigned long long>(PTE_PFN_LIMIT.phys().value() >> 30),
        truncated.value());
}

} // namespace x86
