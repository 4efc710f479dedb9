// The pkmap pool: the implementation (the contract is in pkmap.h).
#include "mm/pkmap.h"

#include "arch/x86/smp.h"
#include "arch/x86/tlb.h"
#include "lib/bug.h"
#include "lib/inject.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "mm/highmem.h"
#include "mm/kmap_local.h"
#include "mm/page_address.h"
#include "mm/pgtable.h"
#include "mm/pks.h"
#include "mm/pkmap_testing.h"
#include "sched/preempt.h"
#include "sched/wait.h"

namespace mm {

constinit const InjectPoint pkmap_sleep_unlocked{"pkmap.sleep_unlocked"};
constinit const InjectPoint pkmap_woken{"pkmap.woken"};

static_assert((LAST_PKMAP & (LAST_PKMAP - 1)) == 0, "the cursor wraps by masking");

namespace {

// Everything below `lock` is owned by it; the wait queue has its own. The
// lock has a cache line of its own: CPUs spinning on it do not pull the
// counts and the statistics the holder is writing back and forth.
struct Pool {
    alignas(64) Spinlock lock;      // Linux's kmap_lock
    alignas(64) int count[LAST_PKMAP];
    u32 cursor;                     // the last slot handed out or probed
    u32 sleepers;                   // tasks between their sleep and retaking the lock
    PkmapStats stats;
    sched::WaitQueue wait;          // pkmap_map_wait
};
Pool pool;

x86::Pte* ptes;                     // the pool's page table: slot n is ptes[n]
x86::PteFlags kmap_prot;
bool skip_wrap_shootdown;           // test-only

void* slot_address(u32 nr) { return reinterpret_cast<void*>(pkmap_addr(nr)); }

// The pool lock, taken with interrupts on (see pkmap.h). A guard so every
// return path drops it; the sleeping path drops and retakes it in between.
class [[nodiscard]] PoolLock : Pinned {
public:
    PoolLock() : PoolLock(x86::irqs_enabled()) {}
    // For kmap and kunmap, which read the flag for might_sleep already.
    explicit PoolLock(bool irqs_on) {
        WARN("pkmap.lock_irqs_off", !irqs_on,
             "the kmap() pool lock taken with interrupts off: a wrap's shootdown could deadlock");
        pool.lock.lock();
    }
    ~PoolLock() { pool.lock.unlock(); }
};

// A pool entry for `pfn`: a keyed frame gets what the global rights allow
// (the pool's entries are every CPU's).
x86::Pte pool_entry(Pfn pfn) {
    const x86::Pte e = x86::Pte::make(pfn, kmap_prot);
    const unsigned key = pks_frame_key(pfn);
    return key ? pks_protect(e, key, pks_shared_rights()) : e;
}

// Clear every count-1 slot; then one shootdown of the whole pool if any was
// cleared. Called with the lock held, at a wrap and from kmap_flush_unused.
void flush_all_zero_pkmaps() {
    u32 cleared = 0;
    for (u32 nr = 0; nr < LAST_PKMAP; ++nr) {
        if (pool.count[nr] != 1)
            continue;
        pool.count[nr] = 0;
        const x86::Pte pte = x86::read_pte(&ptes[nr]);
        // (A keyed frame's entry may be not present - no access - but is there.)
        if (pte.none())
            BUG("pkmap.slot_without_pte", "pkmap slot %u has count 1 and no PTE", nr);
        // A plain clear, not an exchange: nobody reaches the PTE without the
        // lock, and the CPU sets no Accessed/Dirty bit we would lose.
        x86::pte_clear(&ptes[nr]);
        set_page_address(pfn_to_page(pte.pfn()), nullptr);
        ++cleared;
    }
    if (!cleared)
        return;   // no PTE changed: no TLB can hold anything stale (P6)
    PkmapStats& s = pool.stats;
    ++s.flushes;
    s.slots_cleared += cleared;
    if (skip_wrap_shootdown) {
        x86::local_flush_all();   // the negative control: the others keep theirs
        return;
    }
    // 1024 pages, far above the ceiling: one full flush on every CPU. Other
    // CPUs spinning on the pool lock take the IPI: their interrupts are on.
    x86::flush_tlb_kernel_range(pkmap_addr(0), pkmap_addr(LAST_PKMAP));
}

// Sleep until a kunmap frees something. Called and returns with the lock
// held; drops it while asleep.
void sleep_on_full_pool() {
    ++pool.stats.waits;
    ++pool.sleepers;
    sched::WaitEntry entry{sched::current_task(), {}};
    pool.wait.add(entry);
    // Marked sleeping before the lock is dropped: a kunmap in between sees
    // the count (it reads it under the lock) and wakes the queue.
    sched::set_current_sleeping();
    pool.lock.unlock();
    inject_point(pkmap_sleep_unlocked);
    sched::schedule();
    sched::set_current_running();
    inject_point(pkmap_woken);
    pool.wait.remove(entry);
    pool.lock.lock();
    --pool.sleepers;
}

// A slot for `page`, which has none: the scan, the wrap, the sleep (spec
// §4.5). Called with the lock held. Out of line, so that its registers and
// frame are not the hit path's.
[[gnu::noinline]] void* map_new_virtual(Page* page) {
    for (;;) {
        u32 budget = LAST_PKMAP;
        for (;;) {
            const u32 nr = pool.cursor = (pool.cursor + 1) & (LAST_PKMAP - 1);
            if (nr == 0) {
                ++pool.stats.wraps;
                flush_all_zero_pkmaps();
                budget = LAST_PKMAP;
            }
            if (pool.count[nr] == 0) {
                // No flush: a count of 0 means no TLB holds this slot.
                x86::set_pte(&ptes[nr], pool_entry(page_to_pfn(page)));
                pool.count[nr] = 1;
                set_page_address(page, slot_address(nr));
                return slot_address(nr);
            }
            if (--budget == 0)
                break;
        }
        sleep_on_full_pool();
        // Someone may have mapped our page while we slept: share its slot.
        if (void* va = highmem_page_address_pool_locked(page)) {
            ++pool.stats.waits_found_mapped;
            return va;
        }
    }
}

void* kmap_high(Page* page, bool irqs_on) {
    PoolLock guard(irqs_on);
    // Only under the lock can a highmem page's address be trusted.
    void* va = highmem_page_address_pool_locked(page);
    if (va) {
        ++pool.stats.hits;
    } else {
        ++pool.stats.misses;
        va = map_new_virtual(page);
    }
    const u32 nr = pkmap_nr(reinterpret_cast<u32>(va));
    if (++pool.count[nr] < 2)
        BUG("pkmap.count_corrupt", "kmap(pfn %#x): slot %u has count %d after taking it",
            page_to_pfn(page).value(), nr, pool.count[nr]);
    return va;
}

void kunmap_high(Page* page, bool irqs_on) {
    bool need_wakeup = false;
    {
        PoolLock guard(irqs_on);
        void* va = highmem_page_address_pool_locked(page);
        if (!va)
            BUG("pkmap.kunmap_unmapped", "kunmap(pfn %#x): the page is in no kmap() slot",
                page_to_pfn(page).value());
        const u32 nr = pkmap_nr(reinterpret_cast<u32>(va));
        // 1 means "mapped, no holder": one more kunmap than kmaps.
        if (pool.count[nr] <= 1)
            BUG("pkmap.kunmap_unbalanced",
                "kunmap(pfn %#x): slot %u has no holder left (count %d); unbalanced kunmap",
                page_to_pfn(page).value(), nr, pool.count[nr]);
        // The PTE stays: the slot is reused only after the next wrap's flush.
        if (--pool.count[nr] == 1)
            // Counted under the pool lock, so no lost wake-up, and without
            // the queue's own lock on this, the common path.
            need_wakeup = pool.sleepers != 0;
    }
    if (need_wakeup)
        pool.wait.wake_all();
}

} // namespace

void* kmap(Page* page) {
    const bool irqs_on = x86::irqs_enabled();
    might_sleep_irqs(irqs_on);
    if (!page_is_highmem(page))
        return lowmem_page_address(page);
    void* va = kmap_high(page, irqs_on);
    // A keyed page: access granted everywhere once it is mapped (the pool's
    // entries are shared), for as long as some kmap() of its key holds.
    if (unlikely(pks_page_key(page)))
        dev_page_enable_access(page, /*global=*/true);
    return va;
}

void kunmap(Page* page) {
    const bool irqs_on = x86::irqs_enabled();
    might_sleep_irqs(irqs_on);
    if (!page_is_highmem(page))
        return;
    if (unlikely(pks_page_key(page)))
        dev_page_disable_access(page, /*global=*/true);
    kunmap_high(page, irqs_on);
}

Page* kmap_to_page(const void* vaddr) {
    const u32 addr = reinterpret_cast<u32>(vaddr);
    if (WARN_ONCE("pkmap.kmap_to_page", is_pkmap_address(addr),
                  "kmap_to_page(%p): a kmap() address (deprecated helper)", vaddr))
        return pfn_to_page(x86::read_pte(&ptes[pkmap_nr(addr)]).pfn());
    if (WARN_ONCE("kmap_local.kmap_to_page", is_kmap_local_address(addr),
                  "kmap_to_page(%p): a kmap_local address (deprecated helper)", vaddr)) {
        if (Page* page = kmap_local_page_at(addr))
            return page;
        BUG("kmap_local.kmap_to_page_unknown",
            "kmap_to_page(%p): not one of this task's kmap_local slots", vaddr);
    }
    return virt_to_page(vaddr);
}

void pkmap_reprotect_key(unsigned key) {
    PoolLock guard;
    const u32 rights = pks_shared_rights();
    for (u32 nr = 0; nr < LAST_PKMAP; ++nr) {
        const x86::Pte e = x86::read_pte(&ptes[nr]);
        if (e.none() || pks_frame_key(e.pfn()) != key)
            continue;
        // A flush, where one is needed, is the caller's (mm/pks.cpp).
        x86::set_pte(&ptes[nr], pks_protect(pks_wanted(e), key, rights));
    }
}

void kmap_flush_unused() {
    PoolLock guard;
    flush_all_zero_pkmaps();
}

void pkmap_init() {
    highmem_init();
    ptes = pkmap_page_table();
    kmap_prot = kernel_pte_flags();   // PAGE_KERNEL, global where the CPU has PGE
}

PkmapStats pkmap_stats() {
    PoolLock guard;
    return pool.stats;
}

void pkmap_print_stats() {
    const PkmapStats s = pkmap_stats();
    printk("pkmap: %u hits, %u misses, %u wraps, %u flushes clearing %u slots, "
           "%u waits (%u found their page mapped), %u slots held\n",
           s.hits, s.misses, s.wraps, s.flushes, s.slots_cleared, s.waits,
           s.waits_found_mapped, pkmap_held_slots());
    for (unsigned cpu = 0; cpu < x86::NR_CPUS; ++cpu)
        if (x86::cpu_online(cpu))
            printk("pkmap: CPU %u: %u full TLB flushes\n", cpu,
                   x86::tlb_counters(cpu).full_flushes);
}

int pkmap_count(u32 nr) {
    PoolLock guard;
    return pool.count[nr];
}

x86::Pte pkmap_pte(u32 nr) { return x86::read_pte(&ptes[nr]); }

unsigned pkmap_held_slots() {
    PoolLock guard;
    unsigned held = 0;
    for (int c : pool.count)
        held += c > 1;
    return held;
}

unsigned pkmap_release_held() {
    unsigned held = 0;
    {
        PoolLock guard;
        for (int& c : pool.count) {
            if (c > 1) {
                c = 1;
                ++held;
            }
        }
    }
    if (held)
        pool.wait.wake_all();
    return held;
}

bool pkmap_test_reset() {
    PoolLock guard;
    for (int c : pool.count)
        if (c > 1)
            return false;
    flush_all_zero_pkmaps();
    pool.cursor = 0;
    return true;
}

void pkmap_test_skip_wrap_shootdown(bool skip) {
    PoolLock guard;
    skip_wrap_shootdown = skip;
}

} // namespace mm
