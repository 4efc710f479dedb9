// kmap_local: the implementation (the contract is in kmap_local.h).
#include "mm/kmap_local.h"

#include "arch/x86/idt.h"
#include "lib/bug.h"
#include "mm/kmap_local_testing.h"
#include "mm/pgtable.h"
#include "mm/pks.h"
#include "sched/hooks.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"

namespace mm {

static_assert(KM_MAX_IDX <= KM_SLOTS_PER_CPU, "the fixmap reserves KM_SLOTS_PER_CPU per CPU");

namespace {

testing::KmapSwitchInstruments instrumented;   // read only by Switch<true>

u32 slot_of(unsigned cpu, unsigned pos) { return pos + KM_MAX_IDX * cpu; }

// A debug build leaves the even positions unmapped as guard pages.
bool is_guard_position(unsigned pos) { return KM_INCR == 2 && pos % 2 == 0; }

// Position `pos` of this CPU's block.
void clear_slot(unsigned pos) {
    x86::pte_clear(detail::slot_pte(pos));
    x86::local_invlpg(detail::slot_address(pos));
}

// Pop the current task's top entry (no order check): used to undo leaks.
void pop_top(sched::Task* t) {
    sched::preempt_disable();   // the pop's own enable balances it
    KmapCtrl& kc = kmap_ctrl(t);
    const auto pos = static_cast<unsigned>(kc.idx - 1);
    detail::kmap_local_pop(t, kc, pos, detail::slot_address(pos));
}

// Whether a switch hook should touch position `pos` of `task`'s stack: not a
// debug guard position (whose saved value must be zero), and one with a
// saved PTE (an empty one is a bug worth a warning). The same rules for
// both halves, as in Linux.
bool live_position(const KmapCtrl& kc, unsigned pos, const sched::Task* task) {
    if (is_guard_position(pos)) {
        WARN_ONCE("kmap_local.guard_not_empty", !kc.pteval[pos].none(),
                  "guard position %u of %s holds %#" PRIxPTE, pos, task->name,
                  kc.pteval[pos].raw());
        return false;
    }
    return !WARN_ONCE("kmap_local.saved_none", kc.pteval[pos].none(),
                      "position %u of %s has no saved PTE", pos, task->name);
}

// ---- context switch (spec §2.8) ----------------------------------------------

// The test-only variant (mm/kmap_local_testing.h) runs an injection hook
// after each position and can be the RFC's broken single-phase switch. The
// production hooks are the <false> instantiations: they never read either.
template <bool Instrumented>
struct Switch {
    static void inject(testing::KmapPhase phase, sched::Task* task, unsigned pos) {
        if constexpr (Instrumented) {
            if (instrumented.inject)
                instrumented.inject(phase, task, pos);
        }
    }

    // prepare_switch: interrupts off, current() == prev.
    static void sched_out(sched::Task* prev, sched::Task* next) {
        KmapCtrl& kc = kmap_ctrl(prev);
        if constexpr (Instrumented) {
            if (instrumented.single_phase) {
                // The original RFC: one loop swaps prev's entries for next's
                // while current is still prev. An interrupt in the middle
                // pushes onto prev's index and can land on a slot already
                // restored for next.
                KmapCtrl& nk = kmap_ctrl(next);
                const int n = kc.idx > nk.idx ? kc.idx : nk.idx;
                for (int i = 0; i < n; ++i) {
                    const auto pos = static_cast<unsigned>(i);
                    if (i < kc.idx && !kc.pteval[i].none())
                        clear_slot(pos);
                    if (i < nk.idx && !nk.pteval[i].none())
                        x86::set_pte(detail::slot_pte(pos), nk.pteval[i]);
                    inject(testing::KmapPhase::Out, prev, pos);
                }
                return;
            }
        }
        if (kc.idx == 0)
            return;   // the gate Linux keeps (K12)
        // Walked down from position 0's PTE and address: no multiply per slot.
        x86::Pte* pte = detail::slot_pte(0);
        u32 va = detail::slot_address(0);
        for (int i = 0; i < kc.idx; ++i, --pte, va -= PAGE_SIZE) {
            const auto pos = static_cast<unsigned>(i);
            if (!live_position(kc, pos, prev))
                continue;
            x86::pte_clear(pte);
            x86::local_invlpg(va);
            inject(testing::KmapPhase::Out, prev, pos);
        }
    }

    // finish_switch: interrupts on, preemption off, current() == next.
    static void sched_in(sched::Task* /*prev*/) {
        if constexpr (Instrumented) {
            if (instrumented.single_phase)
                return;   // the single loop did it all
        }
        sched::Task* next = sched::current();
        KmapCtrl& kc = kmap_ctrl(next);
        if (kc.idx == 0)
            return;
        x86::Pte* pte = detail::slot_pte(0);
        for (int i = 0; i < kc.idx; ++i, --pte) {
            const auto pos = static_cast<unsigned>(i);
            if (!live_position(kc, pos, next))
                continue;
            // No flush: prepare_switch's invlpg left the slot out of this TLB.
            x86::set_pte(pte, kc.pteval[i]);
            inject(testing::KmapPhase::In, next, pos);
        }
    }
};

// ---- interrupts and task life ------------------------------------------------

// Around every handler that runs on top of a task (x86/idt.h): the depth it
// found, then the check that it left that depth. The same task is current at
// both ends (a handler that sleeps comes back to it).
u32 nested_enter() {
    sched::Task* t = sched::current();
    return t ? static_cast<u32>(kmap_ctrl(t).idx) : 0;
}

bool report_nested_leak(x86::NestedContext kind, const sched::Task* t, int now, int found) {
    constexpr const char* fmt = "%s returns with %s's kmap_local depth %d; it found %d";
    switch (kind) {
    case x86::NestedContext::Hardirq:
        return WARN("kmap_local.irq_leak", true, fmt, "an interrupt", t->name, now, found);
    case x86::NestedContext::Exception:
        return WARN("kmap_local.exception_leak", true, fmt, "an exception handler", t->name, now,
                    found);
    case x86::NestedContext::CrossCpuCall:
        return WARN("kmap_local.call_leak", true, fmt, "a cross-CPU callback", t->name, now, found);
    }
    return true;
}

void nested_exit(u32 saved, x86::NestedContext kind) {
    sched::Task* t = sched::current();
    if (!t)
        return;
    KmapCtrl& kc = kmap_ctrl(t);
    const int found = static_cast<int>(saved);
    if (likely(kc.idx == found))
        return;
    report_nested_leak(kind, t, kc.idx, found);
    // What it left mapped is undone; what it unmapped of the task's own
    // cannot be (the task's later unmaps will misbehave and say so).
    while (kc.idx > found)
        pop_top(t);
}

void on_task_create(sched::Task* child, sched::Task* parent) {
    kmap_ctrl(child) = {};
    // Linux's kmap_local_fork: the copy would start with the parent's stack.
    if (parent)
        WARN_ONCE("kmap_local.fork_with_mappings", kmap_ctrl(parent).idx != 0,
                  "%s creates %s while holding %d kmap_local mapping(s); it starts with none",
                  parent->name, child->name, kmap_ctrl(parent).idx / static_cast<int>(KM_INCR));
}

void on_task_exit(sched::Task* task) {
    KmapCtrl& kc = kmap_ctrl(task);
    if (WARN("kmap_local.exit_with_mappings", kc.idx != 0,
             "%s exits holding %d kmap_local mapping(s)", task->name,
             kc.idx / static_cast<int>(KM_INCR))) {
        while (kc.idx > 0)
            pop_top(task);
    }
}

} // namespace

KmapCtrl& kmap_ctrl(sched::Task* task) { return task->kmap_ctrl; }

int kmap_local_depth() {
    sched::Task* t = sched::current();
    return t ? kmap_ctrl(t).idx / static_cast<int>(KM_INCR) : 0;
}

u32 kmap_local_slot_address(unsigned cpu, unsigned pos) {
    return fix_to_virt(FIX_KMAP_BEGIN + slot_of(cpu, pos));
}

Page* kmap_local_page_at(u32 va) {
    sched::Task* t = sched::current();
    if (!t)
        return nullptr;
    const KmapCtrl& kc = kmap_ctrl(t);
    // Holding a mapping pins the task to this CPU, where its slots are.
    const unsigned cpu = x86::this_cpu_index();
    for (int i = 0; i < kc.idx; ++i) {
        const auto pos = static_cast<unsigned>(i);
        if (!kc.pteval[pos].none() && kmap_local_slot_address(cpu, pos) == (va & PAGE_MASK))
            return pfn_to_page(kc.pteval[pos].pfn());
    }
    return nullptr;
}

// ---- map and unmap (spec §2.3-2.5): the cold paths of kmap_local.h -----------------

namespace detail {

x86::PteFlags kmap_prot;

void kmap_local_no_task() { BUG("kmap_local.no_task", "kmap_local before the first task"); }

void kmap_local_check_context() {
    WARN_ONCE("kmap_local.in_nmi", sched::in_nmi(), "kmap_local from NMI context");
    WARN_ONCE("kmap_local.hardirq_irqs_on", sched::in_hardirq() && x86::irqs_enabled(),
              "kmap_local in a hardirq with interrupts enabled");
}

void kmap_local_overflow(const sched::Task* t) {
    BUG("kmap_local.stack_overflow", "kmap_local: %s already holds %d mapping(s); the limit is %u",
        t->name, t->kmap_ctrl.idx / static_cast<int>(KM_INCR), (KM_MAX_IDX - 1) / KM_INCR);
}

void kmap_local_slot_busy(const sched::Task* t, unsigned pos, x86::Pte stale) {
    BUG("kmap_local.slot_busy",
        "kmap_local: slot %u of CPU %u is not empty (PTE %#" PRIxPTE ") for %s", pos,
        x86::this_cpu_index(), stale.raw(), t->name);
}

void kunmap_local_not_slot(const void* vaddr) {
    if (KMAP_FORCE_MAP) {
        // Every kmap_local made a slot: this address was not one of them.
        WARN_ONCE("kmap_local.unmap_not_kmap", true,
                  "kunmap_local(%p): not a kmap_local address, nothing popped", vaddr);
        return;
    }
    WARN_ONCE("kmap_local.unmap_user", true, "kunmap_local(%p): a user-space address", vaddr);
}

void kunmap_local_misordered(const sched::Task* t, u32 addr, const void* vaddr) {
    const int idx = t->kmap_ctrl.idx;
    if (idx <= 0)
        BUG("kmap_local.stack_underflow", "kunmap_local(%p): %s holds no kmap_local mapping",
            vaddr, t->name);
    WARN_ONCE("kmap_local.unmap_order", true,
              "kunmap_local(%#x): out of order; the top of %s's stack is %#x", addr, t->name,
              slot_address(static_cast<unsigned>(idx - 1)));
}

// ---- protection keys (mm/pks.h) ----------------------------------------------------

// A keyed frame is mapped with what the running context's rights allow; a
// page mapping then enables access for its key (thread-locally: the slot is
// rewritten with it) and says so in the entry, for its unmap. Out of line,
// and the unmap's test is the task's count of keyed mappings: a map and
// unmap pair of any other frame pays a compare or two for the keys.
[[gnu::noinline]] void kmap_local_install_keyed(sched::Task* t, x86::Pte* pte, x86::Pte* saved,
                                                x86::Pte value, unsigned key, bool enable) {
    ++t->pks.keyed_mappings;
    if (enable)
        value = value.with(x86::PTE_SOFT_ENABLED);
    value = pks_protect(value, key, x86::pkrs_read());
    x86::set_pte(pte, value);
    *saved = value;
    if (enable)
        dev_page_enable_access(pfn_to_page(value.pfn()), /*global=*/false);
}

// Before a keyed entry goes: its enable undone (which may rewrite the slots).
[[gnu::noinline]] void kmap_local_forget_if_keyed(sched::Task* t, x86::Pte e) {
    if (e.none() || !pks_frame_key(e.pfn()))
        return;
    --t->pks.keyed_mappings;
    if (e.flags().has(x86::PTE_SOFT_ENABLED))
        dev_page_disable_access(pfn_to_page(e.pfn()), /*global=*/false);
}

} // namespace detail

void* kmap_local_pfn(Pfn pfn) {
    return detail::kmap_local_pfn_prot<detail::OpenKey::No>(pfn, detail::kmap_prot);
}

namespace {

template <bool Instrumented>
constexpr sched::TaskHooks task_hooks{
    .name = Instrumented ? "kmap_local (instrumented)" : "kmap_local",
    .on_create = on_task_create,
    .on_exit = on_task_exit,
    .switch_out = Switch<Instrumented>::sched_out,
    .switch_in = Switch<Instrumented>::sched_in,
    .irq_enter = nested_enter,
    .irq_exit = nested_exit,
};

} // namespace

void kmap_local_reprotect(sched::Task* task, u32 rights, bool live) {
    KmapCtrl& kc = kmap_ctrl(task);
    for (int i = 0; i < kc.idx; ++i) {
        const auto pos = static_cast<unsigned>(i);
        const x86::Pte e = kc.pteval[pos];
        const unsigned key = e.none() ? 0 : pks_frame_key(e.pfn());
        if (!key)
            continue;
        const x86::Pte now = pks_protect(pks_wanted(e), key, rights);
        if (now == e)
            continue;
        kc.pteval[pos] = now;
        // A slot not restored yet (between the two halves of a switch) gets
        // the new value from pteval when it is.
        x86::Pte* slot = detail::slot_pte(pos);
        if (live && !x86::read_pte(slot).none()) {
            x86::set_pte(slot, now);
            x86::local_invlpg(detail::slot_address(pos));
        }
    }
}

void kmap_local_init() {
    // Each CPU's block, looked up once here rather than on every map and
    // unmap (Linux caches its kmap PTE base the same way). The PTEs are one
    // linear array, so no page-table walk (spec L4).
    x86::Pte* const base = kmap_pte_base();
    for (unsigned cpu = 0; cpu < x86::NR_CPUS; ++cpu) {
        x86::cpu_data[cpu].kmap_pte = base - slot_of(cpu, 0);
        x86::cpu_data[cpu].kmap_vaddr = kmap_local_slot_address(cpu, 0);
    }
    highmem_init();
    detail::kmap_prot = kernel_pte_flags();   // PAGE_KERNEL: global when the CPU has PGE
    sched::register_task_hooks(task_hooks<false>);
}

// ---- tests (mm/kmap_local_testing.h) -------------------------------------------------

namespace testing {

const sched::TaskHooks& kmap_local_hooks() { return task_hooks<false>; }
const sched::TaskHooks& instrumented_kmap_local_hooks() { return task_hooks<true>; }
void set_switch_instruments(const KmapSwitchInstruments& instruments) { instrumented = instruments; }

} // namespace testing

} // namespace mm
