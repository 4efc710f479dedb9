#include "sched/task.h"

#include "arch/x86/backtrace.h"
#include "arch/x86/double_fault.h"
#include "arch/x86/nofault.h"
#include "lib/bug.h"
#include "lib/format.h"
#include "lib/new.h"
#include "lib/printk.h"
#include "sched/hooks_internal.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"

extern "C" void task_start();

namespace sched {
namespace {

constexpr unsigned MAX_TASKS = 256;
Task pool[MAX_TASKS];
bool used[MAX_TASKS];
Spinlock pool_lock;
unsigned alive = 0;


Atomic<const StackAllocator*> stacks{nullptr};

} // namespace

void set_stack_allocator(const StackAllocator& allocator) {
    const StackAllocator* none = nullptr;
    WARN("sched.stack_allocator_taken", !stacks.compare_exchange(none, &allocator),
         "a second stack allocator: the first stays");
}

Task* task_alloc() {
    SpinlockIrqsaveGuard guard(pool_lock);
    for (unsigned i = 0; i < MAX_TASKS; ++i) {
        if (used[i])
            continue;
        used[i] = true;
        ++alive;
        Task* t = &pool[i];
        t->~Task();
        new (t) Task();
        t->magic = TASK_MAGIC;
        t->migrate_to = -1;
        t->allowed = ~0u;
        return t;
    }
    return nullptr;
}

void task_free(Task* t) {
    BUG_ON(t->magic != TASK_MAGIC);
    if (t->stack) {
        const StackAllocator* s = stacks.load(MemoryOrder::Acquire);
        x86::unregister_stack_guard(reinterpret_cast<u32>(t->stack) - s->guard_bytes);
        s->free(t->stack);
        t->stack = nullptr;
    }
    t->magic = 0;
    SpinlockIrqsaveGuard guard(pool_lock);
    used[t - pool] = false;
    --alive;
}

unsigned tasks_alive() { return alive; }

void testing::for_each_task(void (*fn)(Task* task, void* arg), void* arg) {
    for (unsigned i = 0; i < MAX_TASKS; ++i)
        if (used[i])
            fn(&pool[i], arg);
}

void dump_tasks() {
    static const char* const states[] = {"runnable", "sleeping", "dead"};
    printk("jiffies %u; timer ticks per CPU:", jiffies());
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c)
        printk(" %u", x86::cpu_data[c].timer_ticks);
    printk("\n");
    dump_runqueues();
    printk("Tasks:\n");
    for (unsigned i = 0; i < MAX_TASKS; ++i) {
        if (!used[i])
            continue;
        const Task& t = pool[i];
        printk("  %-20s %-8s cpu %u on_rq %d queued %d on_cpu %u migrate_disable %u preemptions %u\n",
               t.name, states[static_cast<unsigned>(t.state)], t.cpu, t.on_rq,
               t.run_node.is_linked(), t.on_cpu.load(), t.migrate_disable, t.preemptions);
        if (t.on_cpu.load() || t.saved_esp == 0)
            continue;
        // switch_to left [edi esi ebx ebp ret] at saved_esp.
        const auto* frame = reinterpret_cast<const u32*>(t.saved_esp);
        u32 ebp = 0, ret = 0;
        if (x86::nofault_read32(frame + 3, &ebp) && x86::nofault_read32(frame + 4, &ret))
            x86::print_backtrace(ret, ebp);
    }
}

Task* task_create(void (*fn)(void*), void* arg, const char* name, const KthreadOptions& opts) {
    Task* t = task_alloc();
    if (WARN_ONCE("sched.out_of_tasks", !t, "no free task for %s (max %u)", name, MAX_TASKS))
        return nullptr;
    lib::format(t->name, sizeof(t->name), "%s", name);
    lib::format(t->guard_name, sizeof(t->guard_name), "stack of task %s", t->name);
    t->fn = fn;
    t->arg = arg;
    t->detached = opts.detached;
    t->allowed = opts.allowed & x86::cpu_online_mask.load();
    if (!t->allowed)
        t->allowed = x86::cpu_online_mask.load();
    t->cpu = opts.cpu >= 0 ? static_cast<unsigned>(opts.cpu) : x86::first_cpu(t->allowed);
    t->stack_bytes = opts.stack_bytes;
    const StackAllocator* stacks_from = stacks.load(MemoryOrder::Acquire);
    BUG_ON(!stacks_from);   // mm registers its allocator before the first task
    t->stack = static_cast<u8*>(stacks_from->alloc(opts.stack_bytes, t->name));
    if (!t->stack) {
        task_free(t);
        return nullptr;
    }
    x86::register_stack_guard(reinterpret_cast<u32>(t->stack) - stacks_from->guard_bytes, stacks_from->guard_bytes,
                              t->guard_name);
    // The first switch_to into this task pops four registers and returns to
    // task_start with %eax = the task switched away from.
    auto* sp = reinterpret_cast<u32*>(t->stack + opts.stack_bytes);
    *--sp = 0;                                       // task_start's caller: none
    *--sp = reinterpret_cast<u32>(&task_start);
    *--sp = 0;                                       // %ebp: ends backtraces
    *--sp = 0;                                       // %ebx
    *--sp = 0;                                       // %esi
    *--sp = 0;                                       // %edi
    t->saved_esp = reinterpret_cast<u32>(sp);
    t->state = TaskState::Runnable;
    t->slice = SLICE_TICKS;
    detail::task_hooks.on_create.call(t, current());
    return t;
}

Task* kthread_create(void (*fn)(void*), void* arg, const char* name, const KthreadOptions& opts) {
    Task* t = task_create(fn, arg, name, opts);
    if (t)
        wake_new_task(t, opts.cpu);
    return t;
}

void task_exit(int code) {
    Task* me = current();
    detail::task_hooks.on_exit.call_reversed(me);
    me->exit_code = code;
    if (!me->detached)
        me->exited.complete_all();   // may be preempted here: the joiner waits for on_rq
    me->state = TaskState::Dead;
    schedule();
    BUG("sched.dead_task_ran", "task %s ran after it exited", me->name);
}

int kthread_join(Task* t) {
    BUG_ON(t->magic != TASK_MAGIC || t->detached || t == current());
    t->exited.wait();
    // complete_all() woke us before the task's final switch: it may have been
    // preempted right there and still be queued, or be finishing its last
    // switch-out on another CPU. Let it get off every queue and CPU first.
    while (read_once(t->on_rq, MemoryOrder::Acquire) || t->on_cpu.load(MemoryOrder::Acquire))
        yield();
    const int code = t->exit_code;
    task_free(t);
    return code;
}

} // namespace sched

// A new task's first instructions after switch_to (from task_start).
extern "C" [[noreturn]] void task_bootstrap(sched::Task* last) {
    using namespace sched;
    finish_task_switch(last);
    preempt_enable();   // __schedule's count, which a resumed task drops on return
    Task* me = current();
    me->fn(me->arg);
    task_exit(0);
}
