// Tasks: kernel threads with stacks from vmalloc.
//
// A stack is 16 KiB from vmalloc, so the page below it is unmapped (see
// mm/vmalloc.h) and registered as its guard: an overflow is reported by the
// double-fault task as a stack overflow of this task. Task structs come from
// a fixed pool. A task is created runnable; it ends by returning from its
// function or calling task_exit(); kthread_join() waits for that and frees
// it (a detached task is freed by the scheduler once it has switched away).
#pragma once

#include <stddef.h>

#include "arch/x86/smp.h"
#include "lib/list.h"
#include "lib/spinlock.h"
#include "sched/preempt.h"
#include "sched/task_state.h"
#include "sched/wait.h"

namespace sched {

enum class TaskState : u32 { Runnable, Sleeping, Dead };

constexpr u32 TASK_MAGIC = 0x7a5c0001;
constexpr u32 DEFAULT_STACK_BYTES = 16 * 1024;
constexpr u32 SLICE_TICKS = 2;   // 20 ms at HZ=100

struct Task {
    u32 saved_esp;                 // TASK_SAVED_ESP: switch.S saves and loads it
    u32 magic;
    char name[24];
    volatile TaskState state;
    bool on_rq;                    // queued, or running: counted as runnable on `cpu`
    Atomic<u32> on_cpu;            // executing, or its switch-out is not finished
    bool is_idle;
    bool detached;
    unsigned cpu;
    x86::CpuMask allowed;
    int migrate_to;                // >= 0: move there at the next switch-out
    bool affinity_pending;         // its CPU left `allowed` while migration was off
    u32 migrate_disable;
    u32 pagefault_disabled;
    u32 mutexes_held;
    u32 slice;
    ListNode run_node;
    ListNode sleep_node;
    u32 wake_tick;
    Spinlock pi_lock;              // serializes wake-ups of this task
    u8* stack;
    u32 stack_bytes;
    char guard_name[40];           // "stack of task <name>", for #DF reports
    void (*fn)(void*);
    void* arg;
    int exit_code;
    Completion exited;
    // statistics, for tests
    u32 switches_in;
    u32 preemptions;
    x86::CpuMask ran_on;
    // Subsystems' own state (sched/task_state.h).
    KmapCtrl kmap_ctrl;
    PksState pks;
#if HIMEM_DEBUG
    KmapAuditState kmap_audit;   // kmap.audit (mm/kmap_audit.h): a debug-build feature
#endif
};
constexpr u32 TASK_SAVED_ESP = 0;
static_assert(offsetof(Task, saved_esp) == TASK_SAVED_ESP);

inline Task* current() { return reinterpret_cast<Task*>(PERCPU_READ(current)); }

// ---- per-task context counters (the preempt count is in sched/preempt.h) ----
//
// Inline: an increment of the task's count; the enables' rare cases (an
// unbalanced enable, an affinity change that waited for migration to be
// enabled again) are out of line. The versions that take the task are for
// callers that hold current() already (kmap_local); without a task (early
// boot) the others do nothing.

[[gnu::cold]] void migrate_enable_slow(Task* t);
[[gnu::cold]] void pagefault_enable_underflow();

inline void migrate_disable(Task* t) { ++t->migrate_disable; }
inline void migrate_enable(Task* t) {
    // The count goes down first; negative is an unbalanced enable (undone
    // out of line), zero the point where a pending affinity change applies.
    const int left = static_cast<int>(--t->migrate_disable);
    if (unlikely(left <= 0) && (left < 0 || unlikely(t->affinity_pending)))
        migrate_enable_slow(t);
}
inline void migrate_disable() {
    if (Task* t = current())
        migrate_disable(t);
}
inline void migrate_enable() {
    if (Task* t = current())
        migrate_enable(t);
}
inline u32 migrate_disable_count() {
    const Task* t = current();
    return t ? t->migrate_disable : 0;
}

inline void pagefault_disable(Task* t) {
    ++t->pagefault_disabled;
    compiler_barrier();
}
inline void pagefault_enable(Task* t) {
    compiler_barrier();
    if (unlikely(t->pagefault_disabled == 0)) {
        pagefault_enable_underflow();
        return;
    }
    --t->pagefault_disabled;
}
inline void pagefault_disable() {
    if (Task* t = current())
        pagefault_disable(t);
    else
        compiler_barrier();
}
inline void pagefault_enable() {
    if (Task* t = current())
        pagefault_enable(t);
    else
        compiler_barrier();
}
// Asked by code that decides by it (observed for the kmap_atomic audit).
inline bool pagefault_disabled() {
    observe_context(ContextEvent::PagefaultDisabled);
    const Task* t = current();
    return t && t->pagefault_disabled;
}
// The fault handler's own test (Linux's faulthandler_disabled()): page
// faults disabled, or atomic context. Not observed: it is the kernel's
// check, not a section's question.
inline bool faulthandler_disabled() {
    const Task* t = current();
    return (t && t->pagefault_disabled) || preempt_count() != 0;
}

class [[nodiscard]] MigrateGuard : Pinned {
public:
    MigrateGuard() { migrate_disable(); }
    ~MigrateGuard() { migrate_enable(); }
};

class [[nodiscard]] PagefaultGuard : Pinned {
public:
    PagefaultGuard() { pagefault_disable(); }
    ~PagefaultGuard() { pagefault_enable(); }
};


struct KthreadOptions {
    x86::CpuMask allowed = ~0u;   // affinity
    int cpu = -1;                 // first CPU; -1: the least loaded allowed one
    bool detached = false;
    u32 stack_bytes = DEFAULT_STACK_BYTES;
};

// Create and start a kernel thread (null when out of tasks or memory).
Task* kthread_create(void (*fn)(void*), void* arg, const char* name, const KthreadOptions& opts = {});
// Create without starting (the scheduler's own idle task).
Task* task_create(void (*fn)(void*), void* arg, const char* name, const KthreadOptions& opts);
int kthread_join(Task* task);
[[noreturn]] void task_exit(int code);

// Where task stacks come from. The scheduler has no allocator of its own:
// mm registers one at init (vmalloc), before the first task is created. The
// `guard_bytes` below every stack are unmapped; they are registered as the
// stack's guard, so an overflow is reported as one (x86/double_fault.h).
struct StackAllocator {
    void* (*alloc)(u32 bytes, const char* owner);
    void (*free)(void* stack);
    u32 guard_bytes;
};
// Once; a second one is refused (sched.stack_allocator_taken).
void set_stack_allocator(const StackAllocator& allocator);

// Change the current task's allowed CPUs. If its CPU is no longer allowed it
// moves at once; with migration disabled, when migrate_enable() re-enables it;
// in atomic context, at its next preemption point.
void set_cpus_allowed(x86::CpuMask mask);

unsigned tasks_alive();

// Print every task: state, CPU, queue flags, and for a task that is not
// running, the call trace from its saved stack (the watchdog's report).
void dump_tasks();

// internal: the task pool, for the scheduler (sched/init.cpp, sched/switch.cpp)
Task* task_alloc();
void task_free(Task* task);

} // namespace sched
