#include "mm/fault.h"

#include "arch/x86/cpu.h"
#include "arch/x86/double_fault.h"
#include "arch/x86/extable.h"
#include "arch/x86/idt.h"
#include "lib/format.h"
#include "lib/printk.h"
#include "mm/faultable.h"
#include "mm/fixmap.h"
#include "mm/kmap_audit.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/pks.h"
#include "mm/vmalloc.h"
#include "sched/preempt.h"

namespace mm {
namespace {

constexpr u32 PF_PK = 1u << 5;

bool page_fault(x86::InterruptFrame& frame) {
    // CR2 first: once interrupts are on, or this task sleeps, another fault
    // may overwrite it.
    const u32 address = x86::read_cr2();
    // A keyed frame's entry closed by its key's rights: the protection-key
    // path decides (and sets the PK bit, for the report if it does not).
    if (pks_handle_fault(frame, address))
        return true;
    if (frame.error_code & PF_PK)
        return x86::fixup_exception(frame, address);   // a violation: no fault-in
    const bool not_present = !(frame.error_code & 1);
    // A faultable region's fault is resolved when the faulting code may sleep:
    // page faults not disabled, not atomic, interrupts on (Linux's
    // faulthandler_disabled() test, plus the interrupt state).
    if (not_present && address < PAGE_OFFSET && region_of(address)) {
        if (!sched::faulthandler_disabled() && (frame.eflags & x86::EFLAGS_IF)) {
            // kmap.audit: inside an audited kmap_atomic section this fault is
            // one kmap_atomic would have refused.
            if (HIMEM_DEBUG)
                kmap_audit_fault(frame, KmapAuditFault::Resolved);
            x86::sti();
            const bool resolved = region_handle_fault(address);
            x86::cli();
            if (resolved)
                return true;
        } else if (HIMEM_DEBUG) {
            kmap_audit_fault(frame, KmapAuditFault::FixedUp);   // the fail-fast path
        }
    }
    return x86::fixup_exception(frame, address);
}

void annotate(const x86::InterruptFrame& frame, u32 address) {
    char text[160];
    describe_address(address, text, sizeof(text));
    printk("region: %s\n", text);
    if (frame.error_code & PF_PK) {
        pks_describe_fault(address, text, sizeof(text));
        printk("pks: %s: a %s of %#x denied\n", text, frame.error_code & 2 ? "write" : "read",
               address);
    }
}

void describe_fixmap(u32 va, char* buf, size_t size) {
    const u32 idx = virt_to_fix(va);
    if (idx == FIX_HOLE) {
        lib::format(buf, size, "fixmap hole (index 0, never mapped) [fixmap-hole]");
    } else if (idx == FIX_APIC_BASE) {
        lib::format(buf, size, "fixmap LAPIC page [fixmap-apic]");
    } else if (idx >= FIX_KMAP_BEGIN && idx <= FIX_KMAP_END) {
        const u32 slot = idx - FIX_KMAP_BEGIN;
        if (slot < KM_MAX_IDX * x86::NR_CPUS)
            lib::format(buf, size, "kmap_local slot %u of CPU %u (fixmap index %u) [kmap-local]",
                        slot % KM_MAX_IDX, slot / KM_MAX_IDX, idx);
        else
            lib::format(buf, size, "kmap_local slot beyond this build's KM_MAX_IDX (fixmap index %u) "
                        "[kmap-unused]", idx);
    } else if (idx >= FIX_BTMAP_END && idx <= FIX_BTMAP_BEGIN) {
        const u32 from_begin = FIX_BTMAP_BEGIN - idx;
        lib::format(buf, size, "early-ioremap slot %u, page %u [early-ioremap]",
                    from_begin / NR_FIX_BTMAPS, from_begin % NR_FIX_BTMAPS);
    } else {
        lib::format(buf, size, "fixmap index %u [fixmap]", idx);
    }
}

} // namespace

void describe_address(u32 va, char* buf, size_t size) {
    const u32 lowmem_end = PAGE_OFFSET + static_cast<u32>(max_low_pfn.phys().value());
    if (const char* owner = x86::stack_guard_owner(va)) {
        lib::format(buf, size, "stack guard page of %s [stack-guard]", owner);
    } else if (va < PAGE_SIZE) {
        lib::format(buf, size, "the NULL page [null]");
    } else if (va < PAGE_OFFSET) {
        if (const FaultableRegion* r = region_of(va))
            lib::format(buf, size, "faultable region %s [%#x-%#x), page %u [region]", r->name,
                        r->base, r->base + r->size, (va - r->base) >> PAGE_SHIFT);
        else
            lib::format(buf, size, "user space: nothing mapped here [user]");
    } else if (va < lowmem_end) {
        lib::format(buf, size, "direct map, pfn %#x%s [direct-map]", (va - PAGE_OFFSET) >> PAGE_SHIFT,
                    va - PAGE_OFFSET < PAGE_SIZE ? " (page 0: unmapped on purpose)" : "");
    } else if (va < VMALLOC_START) {
        lib::format(buf, size, "hole between the direct map (ends %#x) and vmalloc [hole]",
                    lowmem_end);
    } else if (va < VMALLOC_END) {
        VmAreaInfo a;
        if (!vmalloc_area_of(va, &a))
            lib::format(buf, size, "unused vmalloc space [vmalloc-unused]");
        else if (a.in_guard)
            lib::format(buf, size, "guard page after vmalloc area [%#x-%#x) of %s [vmalloc-guard]",
                        a.start, a.end, a.owner);
        else
            lib::format(buf, size, "vmalloc area [%#x-%#x) of %s, page %u [vmalloc]", a.start, a.end,
                        a.owner, (va - a.start) >> PAGE_SHIFT);
    } else if (va < PKMAP_BASE) {
        lib::format(buf, size, "guard pages between vmalloc and the pkmap pool [hole]");
    } else if (va < PKMAP_BASE + LAST_PKMAP * PAGE_SIZE) {
        lib::format(buf, size, "pkmap slot %u [pkmap]", (va - PKMAP_BASE) >> PAGE_SHIFT);
    } else if (va < FIXADDR_TOT_START) {
        lib::format(buf, size, "hole between the pkmap pool and the fixmap [hole]");
    } else {
        describe_fixmap(va, buf, size);
    }
}

void fault_init() {
    x86::set_exception_handler(14, page_fault);
    x86::set_fault_annotator(annotate);
}

} // namespace mm
