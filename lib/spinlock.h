// Ticket spinlock and its RAII guards.
//
// Tickets give FIFO hand-off, which matters under TCG with more vCPUs than host
// cores: a test-and-set lock can starve a vCPU for whole host time slices.
// Every spin iteration calls platform::cpu_relax() (`pause`), which also lets a
// round-robin TCG scheduler move on to the lock holder.
//
// Holding a spinlock disables preemption (the task must not be switched out
// while another task on this CPU could spin on the lock). A plain lock()
// spins with interrupts as they are: a CPU spinning with interrupts enabled
// keeps taking IPIs (cross-CPU calls, TLB shootdowns). lock_irqsave()
// disables them first, as Linux's spin_lock_irqsave does, and
// unlock_irqrestore() restores them before preemption can happen again.
//
// Misuse is a BUG: releasing a lock nobody holds (spinlock.bad_unlock), in
// every build, from the ticket counters alone. The debug build also tracks
// the owning CPU, and so catches taking a lock this CPU already holds
// (spinlock.recursion: in the release build that CPU spins forever, as
// Linux's does without DEBUG_SPINLOCK) and releasing a lock another CPU
// holds. The release build's lock and unlock are then a preempt count
// change and the ticket operations, all inline.
#pragma once

#include "lib/atomic.h"
#include "lib/bug.h"
#include "lib/platform.h"

template <bool TrackOwner>
class BasicSpinlock {
public:
    static constexpr unsigned NO_OWNER = ~0u;
    // Whether owner() means anything.
    static constexpr bool TRACKS_OWNER = TrackOwner;

    constexpr BasicSpinlock() = default;
    BasicSpinlock(const BasicSpinlock&) = delete;
    BasicSpinlock& operator=(const BasicSpinlock&) = delete;

    void lock() {
        platform::preempt_disable();
        acquire();
    }

    void unlock() {
        release();
        platform::preempt_enable();
    }

    platform::IrqFlags lock_irqsave() {
        const platform::IrqFlags flags = platform::irq_save();
        platform::preempt_disable();
        acquire();
        return flags;
    }

    void unlock_irqrestore(platform::IrqFlags flags) {
        release();
        platform::irq_restore(flags);
        platform::preempt_enable();
    }

    bool try_lock() {
        platform::preempt_disable();
        u32 serving = m_serving.load(MemoryOrder::Relaxed);
        u32 expected = serving;
        if (!m_next.compare_exchange(expected, serving + 1, MemoryOrder::Acquire)) {
            platform::preempt_enable();
            return false;
        }
        if constexpr (TRACKS_OWNER)
            m_owner.store(platform::this_cpu_id(), MemoryOrder::Relaxed);
        return true;
    }

    bool is_locked() const {
        return m_next.load(MemoryOrder::Relaxed) != m_serving.load(MemoryOrder::Relaxed);
    }
    // CPU that holds the lock, or NO_OWNER (always, without tracking).
    // Advisory: for diagnostics and for the console's "already mine" check,
    // never for correctness.
    unsigned owner() const { return m_owner.load(MemoryOrder::Relaxed); }
    // For assertions that the caller holds it: exact with tracking; without,
    // only that somebody does.
    bool held_by_this_cpu() const {
        return TRACKS_OWNER ? owner() == platform::this_cpu_id() : is_locked();
    }

private:
    [[gnu::cold, gnu::noinline, noreturn]] void recursion() const;
    [[gnu::cold, gnu::noinline, noreturn]] void bad_unlock() const;

    void acquire() {
        if constexpr (TRACKS_OWNER) {
            if (unlikely(m_owner.load(MemoryOrder::Relaxed) == platform::this_cpu_id()))
                recursion();
        }
        const u32 ticket = m_next.fetch_add(1, MemoryOrder::Relaxed);
        while (m_serving.load(MemoryOrder::Acquire) != ticket)
            platform::cpu_relax();
        if constexpr (TRACKS_OWNER)
            m_owner.store(platform::this_cpu_id(), MemoryOrder::Relaxed);
    }

    void release() {
        const u32 serving = m_serving.load(MemoryOrder::Relaxed);
        // Held means a ticket is out: next is past serving. Only the holder
        // moves serving, and others only move next further on.
        if (TRACKS_OWNER ? m_owner.load(MemoryOrder::Relaxed) != platform::this_cpu_id()
                         : unlikely(m_next.load(MemoryOrder::Relaxed) == serving))
            bad_unlock();
        if constexpr (TRACKS_OWNER)
            m_owner.store(NO_OWNER, MemoryOrder::Relaxed);
        m_serving.store(serving + 1, MemoryOrder::Release);
    }

    Atomic<u32> m_next{0};
    Atomic<u32> m_serving{0};
    Atomic<unsigned> m_owner{NO_OWNER};
};

// The two reports, out of line.
template <bool TrackOwner>
void BasicSpinlock<TrackOwner>::recursion() const {
    BUG("spinlock.recursion", "spinlock %p: CPU %u takes it again while holding it", this,
        platform::this_cpu_id());
}
template <bool TrackOwner>
void BasicSpinlock<TrackOwner>::bad_unlock() const {
    BUG("spinlock.bad_unlock", "spinlock %p: CPU %u releases it, but %s", this,
        platform::this_cpu_id(),
        !is_locked() ? "nobody holds it" : "another CPU holds it");
}

// The kernel's lock: owner tracking in the debug build only.
using Spinlock = BasicSpinlock<HIMEM_DEBUG>;
// Always tracked, for a lock whose holder must be known in every build (the
// console's: a CPU that faults while printing writes without it).
using OwnedSpinlock = BasicSpinlock<true>;

class [[nodiscard]] SpinlockGuard : Pinned {
public:
    explicit SpinlockGuard(Spinlock& lock) : m_lock(lock) { m_lock.lock(); }
    ~SpinlockGuard() { m_lock.unlock(); }

private:
    Spinlock& m_lock;
};

class [[nodiscard]] IrqsaveGuard : Pinned {
public:
    IrqsaveGuard() : m_flags(platform::irq_save()) {}
    ~IrqsaveGuard() { platform::irq_restore(m_flags); }

private:
    platform::IrqFlags m_flags;
};

// Interrupts off on this CPU, then the lock; released in reverse order.
class [[nodiscard]] SpinlockIrqsaveGuard : Pinned {
public:
    explicit SpinlockIrqsaveGuard(Spinlock& lock) : m_lock(lock), m_flags(lock.lock_irqsave()) {}
    ~SpinlockIrqsaveGuard() { m_lock.unlock_irqrestore(m_flags); }

private:
    Spinlock& m_lock;
    platform::IrqFlags m_flags;
};
