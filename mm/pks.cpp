// Protection keys: the implementation (the contract is in mm/pks.h).
#include "mm/pks.h"

#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/smp.h"
#include "arch/x86/tlb.h"
#include "lib/bug.h"
#include "lib/format.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "mm/faultable.h"
#include "mm/kmap_local.h"
#include "mm/layout.h"
#include "mm/pgtable.h"
#include "mm/pkmap.h"
#include "sched/hooks.h"
#include "sched/sched.h"

namespace mm {

namespace detail {
KeyedFrames keyed_frames;
} // namespace detail

namespace {

constexpr u32 PF_PRESENT = 1u << 0;
constexpr u32 PF_WRITE = 1u << 1;
constexpr u32 PF_FETCH = 1u << 4;
constexpr u32 PF_PK = 1u << 5;

struct Consumer {
    const char* name;
    PksFaultHandler handler;
};

struct State {
    Spinlock lock;                      // keys, ranges, global counts
    Consumer consumer[NR_PKEYS] = {{"default", nullptr}};
    Atomic<u32> nr_consumers{1};        // key 0 is everyone's
    u32 global_count[NR_PKEYS] = {};
    u32 generation[NR_PKEYS] = {};      // bumped by every 0->1 and 1->0 of a count
    // The register bits the global grants clear: all ones but the granted
    // keys. What every register is loaded with.
    Atomic<u32> global{~0u};
    // The same for the shared entries (pool, regions): a grant takes effect
    // here before it is published in `global`, a revocation at the same time.
    // So an entry never allows less than `global` does, and a fault that
    // `global` allows is only a stale TLB entry.
    Atomic<u32> shared{~0u};
    PksMode mode = PksMode::Relaxed;
    Atomic<u32> warned_keys{0};         // relaxed mode: one WARN per key
    struct {
        Atomic<u32> thread_changes, global_grants, global_revokes, faults, faults_stale,
            faults_handled;
    } stats;
};
State pks;

bool valid_key(unsigned key) {
    return !WARN("pks.bad_key", key == 0 || key >= pks.nr_consumers.load(MemoryOrder::Relaxed),
                 "protection key %u is not a consumer's (consumers: 1..%u)", key,
                 pks.nr_consumers.load() - 1);
}

// ---- the register and the mappings that obey it -------------------------------------

// Load the register with what the running context may do: its own rights
// with the global grants; if that changed it, rewrite this CPU's kmap_local
// slots of the current task. Interrupts or preemption off.
void reload() {
    sched::Task* t = sched::current();
    const u32 rights = (t ? t->pks.pkrs : x86::PKRS_DEFAULT) & pks.global.load(MemoryOrder::Relaxed);
    if (x86::pkrs_write(rights) && t && t->pks.keyed_mappings)
        kmap_local_reprotect(t, rights, /*live=*/true);
}

// ---- task hooks ------------------------------------------------------------------

// A new task starts with the default rights and nothing enabled, whatever
// its creator holds.
void on_create(sched::Task* child, sched::Task*) { child->pks = {}; }

// Prepare half, interrupts off: the register takes the incoming task's
// rights, and the entries it saved take them too, so that kmap_local's
// finish half restores the right permissions (none of them is live: the
// task is off every CPU). Done here rather than in the finish half, which
// runs with interrupts on: from the first instruction at which anything can
// run on this CPU, the register is the incoming task's.
void switch_out(sched::Task*, sched::Task* next) {
    const u32 rights = next->pks.pkrs & pks.global.load(MemoryOrder::Relaxed);
    x86::pkrs_write(rights);
    if (next->pks.keyed_mappings)
        kmap_local_reprotect(next, rights, /*live=*/false);
}

// A handler runs with the default rights; the rights of what it
// interrupted wait in the task, one per level, until it returns.
u32 irq_enter() {
    sched::Task* t = sched::current();
    if (!t)
        return 0;
    sched::PksState& s = t->pks;
    if (WARN("pks.nesting", s.nesting == sched::PksState::MAX_NESTING,
             "%s: handlers nested deeper than %u levels; this one keeps the rights it found",
             t->name, sched::PksState::MAX_NESTING))
        return 0;
    s.interrupted[s.nesting++] = s.pkrs;
    s.pkrs = x86::PKRS_DEFAULT;
    reload();
    return 1;
}

void irq_exit(u32 entered, x86::NestedContext) {
    sched::Task* t = sched::current();
    if (!entered || !t)
        return;
    sched::PksState& s = t->pks;
    s.pkrs = s.interrupted[--s.nesting];
    reload();
}

constexpr sched::TaskHooks task_hooks{
    .name = "pks",
    .on_create = on_create,
    .switch_out = switch_out,
    .irq_enter = irq_enter,
    .irq_exit = irq_exit,
};

// ---- global grants and revocations -----------------------------------------------------

// Every other CPU: forget the shared entries (one full flush, global ones
// too) and load its register again without the revoked key.
void revoke_on_cpu(void*) {
    x86::local_flush_all();
    reload();
}

// The first global enable of a key: the shared entries first, then the
// register rights (a fault in between is judged by the register rights, so
// it is a violation, as it was before the grant). A grant adds rights: no
// CPU can hold a translation the entries lacked, so no flush and no IPI.
// This CPU takes the grant in now; the others at their next switch,
// interrupt or fault.
void grant_globally(unsigned key) {
    const u32 bits = x86::pkrs_key_bits(key);
    u32 generation;
    {
        SpinlockIrqsaveGuard guard(pks.lock);
        if (pks.global_count[key]++ != 0)
            return;
        generation = ++pks.generation[key];
        pks.shared.fetch_and(~bits);
    }
    pks.stats.global_grants.fetch_add(1);
    // Each rewrite reads `shared` under its table's lock: whichever of a
    // grant and a revocation racing with it rewrites last, the entries end
    // as the later of the two left them.
    pkmap_reprotect_key(key);
    region_reprotect_key(key);
    SpinlockIrqsaveGuard guard(pks.lock);
    if (pks.generation[key] != generation)
        return;   // revoked meanwhile: the grant is over before it was published
    pks.global.fetch_and(~bits);
    reload();
}

// The last global disable of a key: this CPU's register and its kmap_local
// slots at once (interrupts off, so nothing here runs with the rights the
// caller no longer holds), then the shared entries, then every other CPU:
// one call each, which flushes and reloads. The revocation is over for
// everyone when this returns.
void revoke_globally(unsigned key) {
    const u32 bits = x86::pkrs_key_bits(key);
    {
        SpinlockIrqsaveGuard guard(pks.lock);
        if (WARN("pks.enable_underflow", pks.global_count[key] == 0,
                 "global disable of key %u (%s) without an enable", key, pks.consumer[key].name))
            return;
        if (--pks.global_count[key] != 0)
            return;
        ++pks.generation[key];
        pks.shared.fetch_or(bits);
        pks.global.fetch_or(bits);
        reload();
    }
    pks.stats.global_revokes.fetch_add(1);
    pkmap_reprotect_key(key);
    region_reprotect_key(key);
    // This CPU too: its TLB may hold a shared entry from before.
    x86::on_each_cpu(revoke_on_cpu, nullptr, /*wait=*/true);
}

// A change of the current task's own rights: the task's value, the register
// and the live slots together, interrupts off. On hardware it is one WRMSR;
// here an interrupt between the value and the slots would see them
// disagree, and a task about to lose a right would keep it in its slots.
void set_thread_rights(unsigned key, PkeyRights rights) {
    if (!valid_key(key))
        return;
    sched::Task* t = sched::current();
    IrqsaveGuard atomically;
    const u32 v = x86::pkrs_with(t->pks.pkrs, key, rights);
    if (v == t->pks.pkrs)
        return;
    t->pks.pkrs = v;
    pks.stats.thread_changes.fetch_add(1);
    reload();
}

// ---- faults ---------------------------------------------------------------------------

bool allows(PkeyRights r, bool write) {
    return r == PkeyRights::ReadWrite || (r == PkeyRights::ReadOnly && !write);
}

const char* rights_name(PkeyRights r) {
    return r == PkeyRights::ReadWrite ? "read/write" : r == PkeyRights::ReadOnly ? "read-only" : "no access";
}

// The rights of the context that faulted: the exception's entry saved them.
u32* faulting_context_rights(sched::Task* t) {
    return t && t->pks.nesting ? &t->pks.interrupted[t->pks.nesting - 1] : nullptr;
}

bool default_handler(PksFault& fault) {
    if (pks.mode == PksMode::Strict)
        return false;
    const u32 bit = 1u << fault.key;
    const bool first = !(pks.warned_keys.fetch_or(bit) & bit);
    WARN("pks.relaxed", first,
              "protection key %u (%s): %s of %#x by %s let through (pks.mode=relaxed)", fault.key,
              pks_key_name(fault.key), fault.write ? "write" : "read", fault.address,
              fault.task ? fault.task->name : "(no task)");
    fault.grant(fault.write ? PkeyRights::ReadWrite : PkeyRights::ReadOnly);
    return true;
}

} // namespace

// ---- keys ------------------------------------------------------------------------------

unsigned pks_key_alloc(const char* name, PksFaultHandler handler) {
    SpinlockIrqsaveGuard guard(pks.lock);
    const unsigned key = pks.nr_consumers.load();
    if (WARN("pks.no_key_left", key == NR_PKEYS, "no protection key left for %s", name))
        return 0;
    pks.consumer[key] = {name, handler ? handler : default_handler};
    pks.nr_consumers.store(key + 1, MemoryOrder::Release);
    return key;
}

const char* pks_key_name(unsigned key) {
    return key < pks.nr_consumers.load() ? pks.consumer[key].name : "(no consumer)";
}

unsigned pks_nr_consumers() { return pks.nr_consumers.load(); }

bool pks_call_handler(PksFault& fault) {
    const unsigned n = pks.nr_consumers.load(MemoryOrder::Acquire);
    if (WARN("pks.bad_key", fault.key >= n, "a fault of key %u, beyond the %u consumers' keys",
             fault.key, n))
        return false;
    const PksFaultHandler handler = pks.consumer[fault.key].handler;
    return handler && handler(fault);
}

void pks_set_mode(PksMode mode) { pks.mode = mode; }
PksMode pks_mode() { return pks.mode; }

void PksFault::grant(PkeyRights rights) {
    granted = true;
    // A shared entry cannot open for one context: the fault path abandons
    // the key's protection everywhere, for good (a global grant never
    // taken back), once it may wait for the pool's lock.
    if (shared)
        return;
    if (u32* ctx = faulting_context_rights(task))
        *ctx = x86::pkrs_with(*ctx, key, rights);
}

// ---- frame ranges ----------------------------------------------------------------------

namespace {

u32 mem_map_entry_address(u32 pfn) {
    return reinterpret_cast<u32>(mem_map) + pfn * static_cast<u32>(sizeof(Page));
}

// The fast tests' bounds, [lo, hi) (hi 0: no range). The high bounds are
// stored last, with release: a reader that sees them sees the low ones.
void publish_bounds(detail::KeyedFrames& k, u32 lo, u32 hi) {
    k.lo = hi ? lo : 0;
    k.lo_page = hi ? mem_map_entry_address(lo) : 0;
    __atomic_store_n(&k.hi_page, hi ? mem_map_entry_address(hi) : 0, __ATOMIC_RELEASE);
    __atomic_store_n(&k.hi, hi, __ATOMIC_RELEASE);
}

} // namespace

bool pks_tag_frames(PfnRange range, unsigned key) {
    if (!valid_key(key))
        return false;
    SpinlockIrqsaveGuard guard(pks.lock);
    detail::KeyedFrames& k = detail::keyed_frames;
    for (detail::KeyedRange& r : k.range) {
        if (r.end != 0)
            continue;
        r = {range.start.value(), range.end.value(), key};
        const bool first = k.hi == 0;
        publish_bounds(k, first ? r.start : min(k.lo, r.start), first ? r.end : max(k.hi, r.end));
        return true;
    }
    WARN("pks.too_many_ranges", true, "no room to tag frames %#x-%#x with key %u",
         range.start.value(), range.end.value(), key);
    return false;
}

void pks_untag_frames(PfnRange range) {
    SpinlockIrqsaveGuard guard(pks.lock);
    detail::KeyedFrames& k = detail::keyed_frames;
    u32 lo = ~0u, hi = 0;
    for (detail::KeyedRange& r : k.range) {
        if (r.start == range.start.value() && r.end == range.end.value())
            r = {};
        if (r.end) {
            lo = min(lo, r.start);
            hi = max(hi, r.end);
        }
    }
    publish_bounds(k, lo, hi);
}

// ---- rights ----------------------------------------------------------------------------

void pks_mk_noaccess(unsigned key) { set_thread_rights(key, PkeyRights::NoAccess); }
void pks_mk_readonly(unsigned key) { set_thread_rights(key, PkeyRights::ReadOnly); }
void pks_mk_readwrite(unsigned key) { set_thread_rights(key, PkeyRights::ReadWrite); }

u32 pks_context_rights() {
    const sched::Task* t = sched::current();
    return t ? t->pks.pkrs : x86::PKRS_DEFAULT;
}

u32 pks_global_rights() { return pks.global.load(); }
u32 pks_shared_rights() { return pks.shared.load(); }

void dev_page_enable_access(Page* page, bool global) {
    const unsigned key = pks_page_key(page);
    if (!key)
        return;
    if (global) {
        grant_globally(key);
        return;
    }
    sched::Task* t = sched::current();
    if (t->pks.access_count[key]++ == 0)
        set_thread_rights(key, PkeyRights::ReadWrite);
}

void dev_page_disable_access(Page* page, bool global) {
    const unsigned key = pks_page_key(page);
    if (!key)
        return;
    if (global) {
        revoke_globally(key);
        return;
    }
    sched::Task* t = sched::current();
    if (WARN("pks.enable_underflow", t->pks.access_count[key] == 0,
             "%s: disable of key %u (%s) without an enable", t->name, key, pks_key_name(key)))
        return;
    if (--t->pks.access_count[key] == 0)
        set_thread_rights(key, PkeyRights::NoAccess);
}

// ---- the fault path ----------------------------------------------------------------------

bool pks_handle_fault(x86::InterruptFrame& frame, u32 address) {
    if (frame.error_code & PF_FETCH)
        return false;   // keys do not apply to instruction fetches
    const x86::Pte* ptep = lookup_kernel_pte(VirtAddr(address));
    if (!ptep)
        return false;
    const x86::Pte e = x86::read_pte(ptep);
    const unsigned key = e.none() ? 0 : pks_frame_key(e.pfn());
    if (!key)
        return false;
    const bool write = frame.error_code & PF_WRITE;
    if (e.present() && (e.writable() || !write)) {
        // The entry allows it now: rewritten since the access (the
        // exception's entry reloads the register and may take a grant in).
        if (!is_kmap_local_address(address))
            x86::local_invlpg(address & PAGE_MASK);
        pks.stats.faults_stale.fetch_add(1);
        return true;
    }
    // What the hardware would say: a protection violation on a present page
    // (the emulation made the entry not present), by a protection key.
    frame.error_code |= PF_PK | PF_PRESENT;
    pks.stats.faults.fetch_add(1);
    sched::Task* t = sched::current();
    const u32 global = pks.global.load();
    const bool shared = !is_kmap_local_address(address);
    u32* ctx = faulting_context_rights(t);
    const u32 rights = shared ? global : (ctx ? *ctx : x86::PKRS_DEFAULT) & global;
    if (allows(x86::pkrs_rights(rights, key), write)) {
        // A stale entry: rights were granted since it was written (lazily,
        // for this CPU). Rewrite it and retry.
        pks.stats.faults_stale.fetch_add(1);
        if (shared)
            x86::local_invlpg(address & PAGE_MASK);
        else
            kmap_local_reprotect(t, rights, /*live=*/true);
        return true;
    }
    PksFault fault{address, write, key, t, shared};
    if (!pks_call_handler(fault))
        return false;
    if (fault.granted && shared) {
        // The grant rewrites the pool's and the regions' entries under
        // their locks, taken with interrupts on: only a context that may
        // sleep can wait for them.
        if (!(frame.eflags & x86::EFLAGS_IF) || sched::faulthandler_disabled()) {
            printk("pks: key %u (%s): the violation at %#x is in a shared mapping, and the "
                   "faulting context cannot wait to open it for everyone\n",
                   key, pks_key_name(key), address);
            return false;
        }
        x86::sti();
        grant_globally(key);
        x86::cli();
    }
    pks.stats.faults_handled.fetch_add(1);
    if (fault.granted && !shared && ctx)
        kmap_local_reprotect(t, *ctx & pks.global.load(), /*live=*/true);
    return true;
}

void pks_describe_fault(u32 address, char* buf, size_t size) {
    const x86::Pte* ptep = lookup_kernel_pte(VirtAddr(address));
    const x86::Pte e = ptep ? x86::read_pte(ptep) : x86::Pte();
    const unsigned key = e.none() ? 0 : pks_frame_key(e.pfn());
    if (!key) {
        lib::format(buf, size, "no protection key");
        return;
    }
    sched::Task* t = sched::current();
    const u32* ctx = faulting_context_rights(t);
    const bool shared = !is_kmap_local_address(address);
    const u32 rights = shared ? pks.global.load() : (ctx ? *ctx : x86::PKRS_DEFAULT) & pks.global.load();
    lib::format(buf, size, "protection key %u (%s) of pfn %#x: the %s rights are %s, task %s", key,
                pks_key_name(key), e.pfn().value(), shared ? "global" : "context's",
                rights_name(x86::pkrs_rights(rights, key)), t ? t->name : "(none)");
}

void pks_init() {
    sched::register_task_hooks(task_hooks);
}

PksStats pks_stats() {
    return {pks.stats.thread_changes.load(), pks.stats.global_grants.load(),
            pks.stats.global_revokes.load(), pks.stats.faults.load(), pks.stats.faults_stale.load(),
            pks.stats.faults_handled.load()};
}

} // namespace mm
