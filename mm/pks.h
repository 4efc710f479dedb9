// PKS-style protection keys (linux-highmem-spec.md §6; docs/protection-keys.md).
//
// Frames can carry a key (1..15; key 0 means "no extra restriction"): the
// key is kept outside the page tables, by frame range, since a 2-level PTE
// has no room for one. What each context may do with a key is its rights,
// in the emulated PKRS register (x86/pkrs.h): each task has its own (it goes
// with the task across switches), a handler that interrupts a task runs with
// the default rights, and global grants (kmap) add to everyone's.
//
// The page tables obey: a mapping of a keyed frame is installed with what
// the relevant rights allow - not present for no access, read-only for
// read-only - and rewritten when they change:
//   kmap_local   the running context's rights (the CPU's register): a change
//                rewrites this CPU's slots of the current task and the values
//                the task saved, so a switch restores the right permission
//   kmap() pool, faultable region   the global rights: those entries are
//                shared by every CPU; a grant rewrites them (no flush needed),
//                a revocation rewrites them and makes every CPU forget them
// An access beyond the rights faults; the fault path finds the key from the
// frame, sets the error code's PK bit as the hardware would, and asks the
// key's handler; with none, the mode decides (pks.mode=strict: oops;
// relaxed, the default: WARN once per key, let the faulting context go on).
//
// Global grants are lazy (no IPI: another CPU takes them in at its next
// switch, interrupt or fault); revocation is eager: one cross-CPU call per
// other online CPU. No global operation touches a task's own rights.
//
// Context: the thread-local calls (pks_mk_*, dev_page_*_access(global =
// false)) from the task itself, any context but NMI; the global ones from
// task context with interrupts on (a revocation waits for every CPU).
//
// Diagnostics (site ids):
//   pks.no_key_left        WARN: every key is taken (pks_key_alloc returns 0)
//   pks.bad_key            WARN: a key that is not a consumer's (0, or at or
//                          beyond the number of consumers) given to a call
//   pks.too_many_ranges    WARN: no room to tag another frame range
//   pks.enable_underflow   WARN: a disable without its enable (nothing done)
//   pks.nesting            WARN: handlers nested deeper than a task can save
//   pks.relaxed            WARN, once per key: a violation let through (relaxed mode)
#pragma once

#include "arch/x86/interrupt_frame.h"
#include "arch/x86/pkrs.h"
#include "mm/page.h"

namespace sched {
struct Task;
}

namespace mm {

using x86::NR_PKEYS;
using x86::PkeyRights;

// ---- keys and their fault handlers ----------------------------------------------

// A violation, as the fault path hands it to the key's handler.
struct PksFault {
    u32 address;
    bool write;
    unsigned key;
    sched::Task* task;
    // The mapping is one every CPU shares (the pool, a region): it obeys the
    // global rights, so a grant to the faulting context alone cannot open it.
    bool shared;
    bool granted = false;

    // Let the faulting context go on with `rights` for the key: its own
    // rights until it ends (a kmap_local mapping), or, for a shared mapping,
    // the key's protection abandoned everywhere (V7's pks_abandon_protections).
    void grant(PkeyRights rights);
};
// True: handled (the access is retried; it must now be allowed).
using PksFaultHandler = bool (*)(PksFault& fault);

// A key for a consumer, with a name (reports) and a handler (null: the mode
// decides). 0 when none is left (WARN). Keys are never given back.
unsigned pks_key_alloc(const char* name, PksFaultHandler handler);
const char* pks_key_name(unsigned key);
// Consumers so far, key 0 included: keys 0 .. pks_nr_consumers() - 1 exist.
unsigned pks_nr_consumers();
// The handler table: a key at or beyond the number of consumers has none
// (the posted series checked `>` here; `>=` is right). False if no handler
// handled the fault.
bool pks_call_handler(PksFault& fault);

enum class PksMode : u8 { Relaxed, Strict };
void pks_set_mode(PksMode mode);
PksMode pks_mode();

// ---- which frames carry a key ---------------------------------------------------

constexpr unsigned PKS_MAX_RANGES = 4;
// Tag [range.start, range.end) with `key` (a consumer's); false if there is
// no room (WARN). Untag before the frames go back to general use.
bool pks_tag_frames(PfnRange range, unsigned key);
void pks_untag_frames(PfnRange range);

namespace detail {
struct KeyedRange {
    u32 start, end;
    u32 key;
};
struct KeyedFrames {
    u32 lo = 0, hi = 0;   // bounds of every range: the fast "no key" test
    // The same bounds as addresses of mem_map entries, so that a test by
    // page is two compares, without the frame number's division by 24.
    u32 lo_page = 0, hi_page = 0;
    KeyedRange range[PKS_MAX_RANGES] = {};
};
extern KeyedFrames keyed_frames;
// Inline, not a call: a call's clobbered registers cost the kmap_local pair
// spills even though the loop runs only for a frame inside the bounds.
inline unsigned frame_key_in_ranges(u32 pfn) {
    for (const KeyedRange& r : keyed_frames.range)
        if (pfn >= r.start && pfn < r.end)
            return r.key;
    return 0;
}
} // namespace detail

// The key of a frame (0: none). On every kmap_local map and unmap: two
// compares for a frame outside every tagged range, no lock.
inline unsigned pks_frame_key(Pfn pfn) {
    const detail::KeyedFrames& k = detail::keyed_frames;
    const u32 v = pfn.value();
    if (likely(v >= __atomic_load_n(&k.hi, __ATOMIC_ACQUIRE) || v < k.lo))
        return 0;
    return detail::frame_key_in_ranges(v);
}
inline unsigned pks_page_key(const Page* page) {
    const detail::KeyedFrames& k = detail::keyed_frames;
    const u32 p = reinterpret_cast<u32>(page);
    if (likely(p >= __atomic_load_n(&k.hi_page, __ATOMIC_ACQUIRE) || p < k.lo_page))
        return 0;
    return detail::frame_key_in_ranges(page_to_pfn(page).value());
}

// ---- the current thread's rights ------------------------------------------------

void pks_mk_noaccess(unsigned key);
void pks_mk_readonly(unsigned key);
void pks_mk_readwrite(unsigned key);
// The running context's own rights (without the global grants).
u32 pks_context_rights();
// The global grants: the register bits they clear (all ones: none).
u32 pks_global_rights();
// The rights the shared entries (the kmap() pool, faultable regions) are
// written with: the global grants, with a grant in progress already in and
// a revocation in progress already out. Read under the table's lock.
u32 pks_shared_rights();

// Enable and disable access to a keyed page around its use, nested:
// thread-locally (only the first enable and the last disable change the
// task's rights) or globally (counted per key; the first grants, the last
// revokes). Pages without a key are not affected.
void dev_page_enable_access(Page* page, bool global);
void dev_page_disable_access(Page* page, bool global);

// ---- the entries that obey them -------------------------------------------------

// The entry for a mapping of a keyed frame under `rights`, from the entry
// asked for: not present for no access, not writable for read-only. What
// was asked for stays recoverable: the frame and the other flags are kept,
// the write permission taken away is remembered in PTE_SOFT_WRITE.
inline x86::Pte pks_protect(x86::Pte wanted, unsigned key, u32 rights) {
    using namespace x86;
    const PkeyRights r = pkrs_rights(rights, key);
    Pte e = wanted.writable() ? wanted.with(PTE_SOFT_WRITE) : wanted;
    if (r == PkeyRights::NoAccess)
        return e.without(PTE_PRESENT).without(PTE_WRITE);
    if (r == PkeyRights::ReadOnly)
        return e.without(PTE_WRITE);
    return e;
}
// The entry as asked for, from a protected one.
inline x86::Pte pks_wanted(x86::Pte entry) {
    using namespace x86;
    Pte e = entry.with(PTE_PRESENT);
    return entry.flags().has(PTE_SOFT_WRITE) ? e.with(PTE_WRITE).without(PTE_SOFT_WRITE) : e;
}

// ---- the rest of the kernel's side -----------------------------------------------

// The fault path (mm/fault.cpp): true if the fault was a protection-key one
// and is resolved (retry); false if it is not one, or no handler let it go
// (then the caller reports it, the PK bit set in the error code).
bool pks_handle_fault(x86::InterruptFrame& frame, u32 address);
// For the fatal report: what the PK fault at `address` was about.
void pks_describe_fault(u32 address, char* buf, size_t size);

// Registers the task hooks (before the scheduler starts) and reads pks.mode.
void pks_init();

// Counters, for tests and benchmarks.
struct PksStats {
    u32 thread_changes;     // pks_mk_* calls that changed a context's rights
    u32 global_grants;      // 0 -> 1 global enables
    u32 global_revokes;     // 1 -> 0 global disables
    u32 faults;             // protection-key faults
    u32 faults_stale;       // of those, stale entries the rights allowed (retried)
    u32 faults_handled;     // violations a handler let through
};
PksStats pks_stats();

} // namespace mm
