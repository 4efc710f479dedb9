// Wait queues and completions.
//
// wait_event(wq, cond) sleeps until cond() is true. No wake-up is lost: the
// task marks itself sleeping before it tests the condition, and a waker sets
// the condition before it wakes, so either the test sees it or the wake-up
// finds the task marked and makes it runnable again.
//
// Context: sleeping functions: task context, preemption enabled, interrupts
// on (might_sleep checks). Waking is allowed from anywhere but NMI.
#pragma once

#include "lib/list.h"
#include "lib/spinlock.h"

namespace sched {

struct Task;

struct WaitEntry {
    Task* task;
    ListNode node;
};

class WaitQueue {
public:
    WaitQueue() = default;
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;

    void add(WaitEntry& e);
    void remove(WaitEntry& e);
    // Wake one waiter / every waiter; returns how many were woken.
    unsigned wake_one();
    unsigned wake_all();
    bool has_waiters();

private:
    Spinlock m_lock;
    List<WaitEntry, &WaitEntry::node> m_waiters;
};

// Mark the current task sleeping / running (with the full barrier that
// orders the mark before the condition test).
Task* current_task();
void might_sleep_check(const char* file, int line);
void set_current_sleeping();
void set_current_running();
void schedule();

template <typename Cond>
void wait_event(WaitQueue& wq, Cond&& cond);

class Completion {
public:
    void complete();        // let one waiter through
    void complete_all();    // let every current and future waiter through
    void wait();
    bool done() const { return m_done.load() != 0; }
    void reinit() { m_done.store(0); }

private:
    bool try_consume();
    Atomic<u32> m_done{0};
    WaitQueue m_wq;
};

template <typename Cond>
void wait_event(WaitQueue& wq, Cond&& cond) {
    if (cond())
        return;
    might_sleep_check(__FILE__, __LINE__);
    WaitEntry entry{current_task(), {}};
    for (;;) {
        wq.add(entry);
        set_current_sleeping();
        if (cond())
            break;
        schedule();
    }
    set_current_running();
    wq.remove(entry);
}

} // namespace sched
