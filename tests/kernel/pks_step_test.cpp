// Protection keys under the trap flag (issue 17): no instruction boundary at
// which a task could read a keyed page with rights it does not hold.
//
// Stepped (tests/kernel/single_step.h): a thread-local enable, a read and a
// disable; a switch between two tasks whose rights for the key differ; a
// global revocation. At each boundary an exception observer looks at the
// stepped task (arch/x86/idt_testing.h: it runs before the exception's own
// entry, which gives a handler the default rights and so would hide what the
// task had). Where interrupts are on - where something else could run, so
// where a window would matter - it checks, for the case's key:
//   - the register grants no more than the task's own rights and the global
//     grants together;
//   - the register grants at least the task's own rights (a thread-local
//     grant is in effect at once);
//   - each live kmap_local slot of the task that maps a frame of the key
//     grants no more than the register.
// Where interrupts are off (inside a change of rights, the switch's two
// halves) nothing else runs on the CPU and the task does not touch the page:
// those boundaries are counted, not checked.
//
// Each case has been seen to fail with the ordering it relies on undone
// (docs/protection-keys.md names the three).
#include "arch/x86/cpu.h"
#include "arch/x86/idt_testing.h"
#include "arch/x86/pkrs.h"
#include "arch/x86/smp.h"
#include "lib/format.h"
#include "lib/ksym.h"
#include "mm/kmap_local.h"
#include "mm/pgtable.h"
#include "mm/pks.h"
#include "sched/sched.h"
#include "tests/kernel/pks_helpers.h"
#include "tests/kernel/single_step.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using namespace test_support;
using sched::Task;
using x86::PkeyRights;

namespace {

unsigned key = 0;

// A violation fails the access that made it (nofault reads): the cases look.
bool refuse(PksFault&) { return false; }

int key_init() {
    if (!key)
        key = pks_key_alloc("step", refuse);
    return key ? 0 : 1;
}

} // namespace

KTEST_SUITE(pks_step, .init = key_init);

namespace {

// Past this many boundaries in one stepped operation (a revocation steps
// through its wait for the other CPUs) the stepping stops and the case fails.
constexpr u32 MAX_STEPS = 2'000'000;

enum Watched : unsigned { SET_RIGHTS, FINISH_SWITCH, REVOKE, NR_WATCHED };
constexpr const char* watched_label[NR_WATCHED] = {"set_thread_rights", "finish_task_switch",
                                                   "dev_page_disable_access"};
constexpr const char* watched_needle[NR_WATCHED] = {"::set_thread_rights(", "::finish_task_switch(",
                                                    "::dev_page_disable_access("};
constexpr u32 bit(Watched w) { return 1u << w; }

struct Violation {
    u32 eip;
    const char* what;
    u32 reg, own, global;
    x86::Pte pte;
};

struct Counts {
    u32 boundaries;
    u32 checked;     // interrupts on: the rules checked
    u32 irqs_off;
    u32 foreign;     // in a task not under test (its stepping is stopped)
    u32 task_changes;
    u32 in[NR_WATCHED];
    Task* last;
    bool overran;
    u32 violations;
    Violation first;
};

struct Observer {
    // Written only while no step can come (TF clear); the observer reads them.
    bool active = false;
    Task* tasks[2] = {};
    Counts n{};
    FunctionMatcher<NR_WATCHED> watched{watched_needle};
};
Observer obs;

int rank(PkeyRights r) { return r == PkeyRights::ReadWrite ? 2 : r == PkeyRights::ReadOnly ? 1 : 0; }
int rank_of(u32 pkrs) { return rank(x86::pkrs_rights(pkrs, key)); }
int rank_of(x86::Pte e) { return !e.present() ? 0 : e.writable() ? 2 : 1; }

void violation(u32 eip, const char* what, u32 reg, u32 own, u32 global, x86::Pte pte = {}) {
    if (obs.n.violations++ == 0)
        obs.n.first = {eip, what, reg, own, global, pte};
}

void check(Task* t, u32 eip) {
    const u32 reg = x86::pkrs_read();
    const u32 own = t->pks.pkrs;
    const u32 global = pks_global_rights();
    const int r = rank_of(reg);
    if (r > max(rank_of(own), rank_of(global)))
        violation(eip, "the register grants more than the task's own and the global rights", reg,
                  own, global);
    if (r < rank_of(own))
        violation(eip, "the task's own grant is not in the register", reg, own, global);
    const KmapCtrl& kc = kmap_ctrl(t);
    const unsigned cpu = x86::this_cpu_index();
    for (int i = 0; i < kc.idx; ++i) {
        const u32 va = kmap_local_slot_address(cpu, static_cast<unsigned>(i));
        const x86::Pte e = x86::read_pte(lookup_kernel_pte(VirtAddr(va)));
        if (!e.none() && pks_frame_key(e.pfn()) == key && rank_of(e) > r)
            violation(eip, "a kmap_local slot grants more than the register", reg, own, global, e);
    }
}

bool on_exception(x86::InterruptFrame& frame) {
    if (frame.vector != VECTOR_DEBUG || !obs.active)
        return false;
    Counts& n = obs.n;
    if (++n.boundaries > MAX_STEPS) {
        n.overran = true;
        frame.eflags &= ~x86::EFLAGS_TF;
        return true;
    }
    Task* t = sched::current();
    if (t != n.last) {
        n.task_changes += n.last != nullptr;
        n.last = t;
    }
    if (t != obs.tasks[0] && t != obs.tasks[1]) {
        ++n.foreign;
        frame.eflags &= ~x86::EFLAGS_TF;   // not ours to step
        return true;
    }
    if (const int w = obs.watched.at(frame.eip); w >= 0)
        ++n.in[w];
    if (!(frame.eflags & x86::EFLAGS_IF)) {
        ++n.irqs_off;
        return true;
    }
    ++n.checked;
    check(t, frame.eip);
    return true;
}

class [[nodiscard]] Observing : Pinned {
public:
    Observing() { x86::set_exception_observer(on_exception); }
    ~Observing() {
        obs.active = false;
        x86::set_exception_observer(nullptr);
    }
};

// New counts for the next operation, in which `a` (and `b`) will be stepped.
void arm(Task* a, Task* b) {
    obs.n = {};
    obs.tasks[0] = a;
    obs.tasks[1] = b;
    obs.active = true;
}

void judge(ktest::Context& ktest_ctx, const char* what, u32 need, u32 task_changes) {
    obs.active = false;
    const Counts& n = obs.n;
    char where[96] = "";
    size_t len = 0;
    for (unsigned w = 0; w < NR_WATCHED; ++w)
        if (need & (1u << w) && len < sizeof(where))
            len += lib::format(where + len, sizeof(where) - len, "%s%u in %s", len ? ", " : "",
                               n.in[w], watched_label[w]);
    ktest_ctx.diag("%-14s %6u boundaries (%s): %u checked, %u with interrupts off, %u violations",
                   what, n.boundaries, where, n.checked, n.irqs_off, n.violations);
    for (unsigned w = 0; w < NR_WATCHED; ++w)
        if (need & (1u << w) && n.in[w] == 0)
            KTEST_FAIL("%s: no boundary in %s", what, watched_label[w]);
    EXPECT_FALSE(n.overran);
    EXPECT_EQ(n.foreign, 0u);
    EXPECT_GT(n.checked, 0u);
    EXPECT_EQ(n.violations, 0u);
    if (n.violations) {
        u32 offset = 0;
        const char* fn = ksym::lookup(n.first.eip, &offset, nullptr);
        ktest_ctx.diag("first at %s+%#x: %s (register %#x, own %#x, global %#x, slot %#" PRIxPTE ")",
                       fn ? fn : "?", offset, n.first.what, n.first.reg, n.first.own,
                       n.first.global, n.first.pte.raw());
    }
    EXPECT_EQ(n.task_changes, task_changes);
}

// kmap_local_page() opens its page for the task that maps it; a slot of
// kmap_local_pfn() stays as the task's rights leave it, closed here.
void* map_closed(Page* page) { return kmap_local_pfn(page_to_pfn(page)); }

sched::KthreadOptions on_cpu(unsigned c) {
    sched::KthreadOptions o;
    o.allowed = x86::cpu_bit(c);
    o.cpu = static_cast<int>(c);
    return o;
}

} // namespace

// The task holds a closed slot of the page; it opens it for itself, reads,
// and closes it again.
KTEST(pks_step, a_thread_local_enable_read_and_disable_leave_no_window) {
    NEED_KEYED_PAGES(pages, key, 0);
    Observing observing;
    void* va = map_closed(pages[0]);
    EXPECT_FALSE(readable(va));
    sched::sleep_ticks(1);   // a fresh time slice: no preemption due while stepping
    u32 word = 0;
    bool read = false;
    arm(sched::current(), nullptr);
    {
        SingleStep on;
        dev_page_enable_access(pages[0], /*global=*/false);
        read = x86::nofault_read32(va, &word).ok;
        dev_page_disable_access(pages[0], /*global=*/false);
    }
    judge(ktest_ctx, "enable/disable", bit(SET_RIGHTS), 0);
    EXPECT_TRUE(read);
    EXPECT_EQ(word, word_of(page_to_pfn(pages[0]), 0));
    EXPECT_FALSE(readable(va));
    kunmap_local(va);
}

// Two tasks on one CPU, each holding a slot of the page: X may read and
// write it, Y may not. Y wakes X and stays queued behind it (preempted in
// its complete()); X sets TF and yields; the stepping follows the switch
// into Y, through its finish half, until Y clears TF.
namespace {

struct SwitchRun {
    Page* page;
    unsigned cpu;
    Task* x;
    Task* y;
    Task* coordinator;
    sched::Completion x_go;
    bool alone;         // X found only Y queued when it began stepping
    bool x_could_write;
    bool y_could_read;
};
SwitchRun* run;

bool queued_or_running(const Task* t) { return __atomic_load_n(&t->on_rq, __ATOMIC_ACQUIRE); }

void switch_x(void*) {
    SwitchRun& r = *run;
    void* va = kmap_local_page(r.page);   // and open for X
    r.x_go.wait();
    r.alone = r.y && sched::nr_queued(r.cpu) == 1 && queued_or_running(r.y);
    if (r.alone) {
        SingleStep on;
        sched::yield();   // the switch under test
    }
    r.x_could_write = writable(va);
    kunmap_local(va);
}

void switch_y(void*) {
    SwitchRun& r = *run;
    void* va = map_closed(r.page);
    // X asleep in its wait, the coordinator in its join, nothing queued here.
    while (queued_or_running(r.x) || queued_or_running(r.coordinator) ||
           sched::nr_queued(r.cpu) != 0)
        sched::sleep_ticks(1);
    r.x_go.complete();   // X runs at once, and yields back with TF set
    stop_single_stepping();
    r.y_could_read = readable(va);
    kunmap_local(va);
}

} // namespace

KTEST(pks_step, a_switch_between_tasks_with_different_rights_leaves_no_window) {
    NEED_KEYED_PAGES(pages, key, 0);
    Observing observing;
    SwitchRun r{};
    r.page = pages[0];
    r.cpu = x86::num_online_cpus() > 1 ? 1 : 0;
    r.coordinator = sched::current();
    run = &r;
    r.x = sched::kthread_create(switch_x, nullptr, "pks-step-x", on_cpu(r.cpu));
    ASSERT_NOT_NULL(r.x);
    r.y = sched::kthread_create(switch_y, nullptr, "pks-step-y", on_cpu(r.cpu));
    if (r.y) {
        arm(r.x, r.y);
        sched::kthread_join(r.y);
    } else {
        r.x_go.complete();   // X finds no Y, steps nothing and exits
    }
    sched::kthread_join(r.x);
    run = nullptr;
    ASSERT_NOT_NULL(r.y);
    judge(ktest_ctx, "switch", bit(FINISH_SWITCH), 1);
    EXPECT_TRUE(r.alone);
    EXPECT_TRUE(r.x_could_write);
    EXPECT_FALSE(r.y_could_read);
}

// The task holds a slot of the page, open only by a global grant, and
// revokes it: the last global disable.
KTEST(pks_step, a_global_revoke_leaves_no_window) {
    NEED_KEYED_PAGES(pages, key, 0);
    Observing observing;
    void* va = map_closed(pages[0]);
    dev_page_enable_access(pages[0], /*global=*/true);
    EXPECT_TRUE(readable(va));
    sched::sleep_ticks(1);
    arm(sched::current(), nullptr);
    {
        SingleStep on;
        dev_page_disable_access(pages[0], /*global=*/true);
    }
    judge(ktest_ctx, "global revoke", bit(REVOKE), 0);
    EXPECT_FALSE(readable(va));
    for (unsigned c = 0; c < x86::num_online_cpus(); ++c)
        EXPECT_TRUE(x86::pkrs_rights(x86::pkrs_read_on(c), key) == PkeyRights::NoAccess);
    kunmap_local(va);
}
