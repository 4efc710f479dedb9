// Scaffolding of the every-CPU stress runs, which their own test cases and
// the soak (tests/kernel/soak.cpp) share: how long a worker goes on, and one
// worker thread per CPU, pinned there, all let go at the same moment.
#pragma once

#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/atomic.h"
#include "sched/task.h"
#include "sched/wait.h"

namespace stress {

// How long a worker goes on: at most `ops` operations, not past
// `deadline_ns` once it has done `floor` of them, and not once `*stop` is
// set. A test case bounds its run by count and time, with a floor that makes
// "every CPU took part" mean something on a host too busy to run its vCPUs
// for long (the case's watchdog still ends a worker that never gets there);
// the soak bounds its run by time, and by `stop` when it ends early.
struct Budget {
    u32 ops = ~0u;
    u64 deadline_ns = ~0ull;
    u32 floor = 0;
    const Atomic<u32>* stop = nullptr;

    bool go_on(u32 done) const {
        if (done >= ops || (stop && stop->load(MemoryOrder::Relaxed)))
            return false;
        return done < floor || x86::now_ns() < deadline_ns;
    }
};

// Zero a worker's counters.
template <typename... Counters>
void zero(Counters&... counters) {
    (counters.store(0), ...);
}

// Threads on CPUs 0..n-1, one each, pinned: a run that means "every CPU at
// once" must not let the balancer stack two of them on one CPU.
class PinnedWorkers : Pinned {
public:
    using WorkerFn = void (*)(void*);

    // Create the threads, then let them all go: worker c runs fn(arg_of(c)).
    // False if one could not be created; those that were have ended without
    // running fn by then.
    template <typename ArgOf>
    bool start(unsigned n, WorkerFn fn, ArgOf arg_of, const char* name) {
        m_start.reinit();
        m_count = 0;
        bool created = true;
        for (unsigned c = 0; c < n && created; ++c) {
            m_slot[c] = {this, fn, arg_of(c)};
            created = spawn(c, name);
        }
        m_cancelled = !created;
        m_start.complete_all();
        if (m_cancelled)
            join();
        return created;
    }
    void join();
    unsigned count() const { return m_count; }

private:
    struct Slot {
        PinnedWorkers* crew;
        WorkerFn fn;
        void* arg;
    };
    static void entry(void* slot);
    bool spawn(unsigned cpu, const char* name);

    sched::Completion m_start;
    bool m_cancelled = false;   // written before m_start completes, read after
    Slot m_slot[x86::NR_CPUS] = {};
    sched::Task* m_task[x86::NR_CPUS] = {};
    unsigned m_count = 0;
};

} // namespace stress
