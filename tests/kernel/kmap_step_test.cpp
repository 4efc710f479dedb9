// kmap_local interrupted at every instruction (issue 15). kmap_stress
// reaches an interrupt inside a map or an unmap only by chance; the trap
// flag makes it certain: with EFLAGS.TF set the CPU raises a debug exception
// (#DB, vector 1, a trap: EIP is the next instruction) after every
// instruction. The #DB handler plays the interrupt: on top of the
// interrupted task it maps a page of its own with kmap_local, checks the
// page's words, unmaps it and counts the boundary. The second variant also
// checks, first, that the interrupted task's own mappings are intact
// (check_interrupted has the invariant and why it holds).
//
// Stepped: a map, an unmap, a nested map/unmap of depth 3, a kmap_atomic
// pair, and a context switch between two tasks holding mappings, through
// both halves (sched_out in prepare_switch, sched_in in finish_switch). Each
// prints its boundaries and how many were in the kmap_local functions it is
// about. The negative control is the crash test at the end: the same
// stepping of the original RFC's single-phase switch hits K6's BUG.
//
// The gate of #DB is an interrupt gate: the handler runs with interrupts
// off and TF clear (it is not stepped itself; its iret sets TF again), in
// the context it interrupted (no hardirq count). It must not schedule, and
// cannot: kmap_local's preempt_enable does not switch with interrupts off.
// The maps and unmaps are stepped with interrupts off, so that no real
// interrupt sets need_resched and lets a preempt_enable() switch to another
// task with TF still set. The switch is stepped with interrupts on: a timer
// interrupt is not stepped (its gate clears TF too), and a preemption at its
// exit switches with TF clear, so the task it switches to is not stepped and
// stepping resumes when the preempted task comes back through its iret.
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "lib/bug.h"
#include "lib/format.h"
#include "lib/ksym.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "mm/kmap_local_testing.h"
#include "mm/local_mapping.h"
#include "mm/pgtable.h"
#include "sched/sched.h"
#include "tests/kernel/single_step.h"
#include "tests/ktest/ktest.h"
#include "tests/kernel/helpers.h"

using namespace mm;
using sched::Task;
using namespace test_support;

KTEST_SUITE(kmap_step);

namespace {

// Per stepped operation (the longest, a switch, takes under 500): past it
// the handler stops the stepping and the case fails.
constexpr u32 MAX_STEPS = 20000;
constexpr unsigned MAX_HELD = 3;   // mappings a task holds around a stepped operation
constexpr x86::PteFlags AD = x86::PTE_ACCESSED | x86::PTE_DIRTY;

// ---- pages whose words name their frame ---------------------------------------

// Word i of frame `pfn`. A slot that reaches another frame than the one its
// PTE names (a stale TLB entry, an alias) reads that frame's words.
u32 word_of(Pfn pfn, u32 i) { return 0x57e90000u ^ (pfn.value() * 0x9e3779b1u) ^ (i * 0x85ebca6bu); }

// Every 61st word (17 of them): a step checks up to seven pages, and a
// wrong frame differs in every word.
constexpr u32 CHECK_STRIDE = 61;

u32 frame_mismatches(const void* va, Pfn pfn) {
    const auto* w = static_cast<const volatile u32*>(va);
    u32 bad = 0;
    for (u32 i = 0; i < PAGE_SIZE / 4; i += CHECK_STRIDE)
        bad += w[i] != word_of(pfn, i);
    return bad;
}

// A page that kmap_local maps through a slot (highmem, or any page with
// force-map), filled with its frame's words; null if there is none.
Page* slot_page() {
    Page* p = test_support::alloc_highuser_page();
    if (p && !is_highmem(p) && !KMAP_FORCE_MAP) {
        free_page(p);
        p = nullptr;
    }
    if (p) {
        LocalMapping map(p);
        for (u32 i = 0; i < PAGE_SIZE / 4; ++i)
            map.as<u32>()[i] = word_of(page_to_pfn(p), i);
    }
    return p;
}

// N slot pages for a scope (ok() if there were that many).
template <unsigned N>
class SlotPages : Pinned {
public:
    SlotPages() {
        while (m_count < N && (m_page[m_count] = slot_page()))
            ++m_count;
    }
    ~SlotPages() {
        while (m_count)
            free_page(m_page[--m_count]);
    }
    bool ok() const { return m_count == N; }
    Page* const* page() const { return m_page; }

private:
    Page* m_page[N] = {};
    unsigned m_count = 0;
};

// The mappings a task holds across a stepped operation, released in reverse.
class MappedStack : Pinned {
public:
    MappedStack(Page* const* pages, unsigned n) : m_pages(pages), m_n(n) {
        BUG_ON(n > MAX_HELD);
        for (unsigned i = 0; i < n; ++i)
            m_va[i] = kmap_local_page(pages[i]);
    }
    ~MappedStack() {
        for (unsigned i = m_n; i-- > 0;)
            kunmap_local(m_va[i]);
    }
    u32 mismatches() const {
        u32 bad = 0;
        for (unsigned i = 0; i < m_n; ++i)
            bad += frame_mismatches(m_va[i], page_to_pfn(m_pages[i]));
        return bad;
    }

private:
    Page* const* m_pages;
    unsigned m_n;
    void* m_va[MAX_HELD] = {};
};

// ---- the stepping ---------------------------------------------------------------

// The map and the unmap are inline (mm/kmap_local.h): the operations are
// stepped through these out-of-line frames, whose bodies are nothing but
// the inlined map or unmap (and kmap_atomic's counters around them), so a
// boundary in one of them is a boundary inside the real map or unmap code.
[[gnu::noinline]] void* stepped_map(Page* page) { return kmap_local_page(page); }
[[gnu::noinline]] void stepped_unmap(const void* va) { kunmap_local(va); }
[[gnu::noinline]] void* stepped_map_atomic(Page* page) { return kmap_atomic(page); }
[[gnu::noinline]] void stepped_unmap_atomic(const void* va) { kunmap_atomic(va); }

// The functions whose boundaries are counted apart, found by symbolizing
// EIP (their own code, not what they call).
enum Watched : unsigned { MAP, UNMAP, SCHED_OUT, SCHED_IN, NR_WATCHED };
constexpr const char* watched_label[NR_WATCHED] = {"the map", "the unmap", "sched_out", "sched_in"};
// In the demangled names: "stepped_map" is in both map frames above, and
// "stepped_unmap" in both unmap frames; the switch hooks are mm:: functions.
constexpr const char* watched_needle[NR_WATCHED] = {"stepped_map", "stepped_unmap", "::sched_out(",
                                                    "::sched_in("};
constexpr u32 bit(Watched w) { return 1u << w; }

struct Mismatch {
    u32 eip;
    const char* what;
    unsigned pos;
    x86::Pte live;
    x86::Pte saved;
};

// What the handler counts in one stepped operation.
struct StepCounts {
    u32 boundaries;
    u32 in[NR_WATCHED];
    u32 foreign;        // boundaries in a task not under test
    u32 task_changes;   // between consecutive boundaries
    Task* last;         // the task of the previous boundary
    Task* changed_from;
    Task* changed_to;
    bool overran;
    u32 mismatches;
    Mismatch first;
};

struct Stepping {
    // Written only while no step can come (TF clear); the handler reads them.
    bool active = false;
    bool check_interrupted = false;   // the second variant
    Page* own_page = nullptr;
    Task* tasks[2] = {};              // the tasks expected to be stepped
    StepCounts n{};
    FunctionMatcher<NR_WATCHED> watched{watched_needle};
};
Stepping stepping;

void note(u32 eip, const char* what, unsigned pos, x86::Pte live = {}, x86::Pte saved = {}) {
    if (stepping.n.mismatches++ == 0)
        stepping.n.first = {eip, what, pos, live, saved};
}


// The interrupted task's mappings at this boundary, wherever in a map, an
// unmap or the switch it stopped. For every position p of this CPU's block:
//
//   p >= idx: the slot is empty;
//   p <  idx: the slot is empty, or holds what the task saved for p
//             (Accessed/Dirty aside: the CPU sets them on any access, our
//             reads included), or it is the top position being mapped
//             right now (PTE written, not yet saved: pteval[p] is zero);
//   a slot that holds a PTE reads the words of the frame that PTE names.
//
// Why "empty" is allowed below idx: the switch keeps idx and pteval as
// they are. In prepare_switch current is prev, whose slots are being
// cleared; from `current = next` until finish_switch has restored them,
// next's slots are empty; a map has pushed before it writes, an unmap
// clears before it pops. The single-phase switch breaks it: prev is
// current while its slots hold next's PTEs. Reads through empty slots are
// not checked: between a PTE clear and its invlpg the TLB may still hold
// the old entry, and nothing reads it then.
//
// With PAE an entry is two words, written high word first and cleared low
// word first (spec §1.8), so a step can land between the two stores: the
// low word, which holds Present and every flag, is then zero and the high
// word is not. No walk can use such an entry, so it counts as empty; an
// entry whose low word names a frame while its high word is stale would
// not, and the frame check below would read the wrong frame's words.
bool empty_for_any_walk(x86::Pte e) { return static_cast<u32>(e.raw()) == 0; }

void check_interrupted(Task* t, u32 eip) {
    const KmapCtrl& kc = kmap_ctrl(t);
    const unsigned cpu = x86::this_cpu_index();
    for (unsigned pos = 0; pos < KM_MAX_IDX; ++pos) {
        const u32 va = kmap_local_slot_address(cpu, pos);
        const x86::Pte live = x86::read_pte(lookup_kernel_pte(VirtAddr(va)));
        if (empty_for_any_walk(live))
            continue;
        const int p = static_cast<int>(pos);
        if (p >= kc.idx) {
            note(eip, "a slot above the task's stack is mapped", pos, live);
            continue;
        }
        const x86::Pte saved = kc.pteval[pos];
        // The top position may be being mapped: its PTE is written before
        // its saved value, and with PAE the saved value is two words too,
        // stored one after the other (the low word first, as GCC orders a
        // u64 store), so a step can land after its low word only.
        const bool being_mapped =
            p == kc.idx - 1 && (saved.none() || saved.without(AD).raw() ==
                                          static_cast<u32>(live.without(AD).raw()));
        if (live.without(AD) != saved.without(AD) && !being_mapped)
            note(eip, "a slot holds a PTE its task did not save", pos, live, saved);
        if (!live.present())
            note(eip, "a slot holds a PTE that is not present", pos, live, saved);
        else if (frame_mismatches(reinterpret_cast<const void*>(va), live.pfn()))
            note(eip, "a mapped slot reads another frame's words", pos, live, saved);
    }
}

// The interrupt's own mapping, on top of the interrupted task's stack.
[[gnu::noinline]] void map_own_page(u32 eip) {
    const int depth = kmap_local_depth();
    void* va = kmap_local_page(stepping.own_page);
    const unsigned pos = static_cast<unsigned>(kmap_ctrl(sched::current()).idx - 1);
    if (frame_mismatches(va, page_to_pfn(stepping.own_page)))
        note(eip, "the handler's own page reads another frame's words", pos,
             x86::read_pte(lookup_kernel_pte(VirtAddr(va))));
    kunmap_local(va);
    if (kmap_local_depth() != depth)
        note(eip, "the handler's map and unmap changed the depth", pos);
}

bool on_single_step(x86::InterruptFrame& frame) {
    Stepping& s = stepping;
    StepCounts& n = s.n;
    // Not frame.eflags & TF: the popf that clears TF traps too, and leaves
    // the flag clear in the frame.
    if (!s.active)
        return false;   // not a step of ours: the fatal report
    if (++n.boundaries > MAX_STEPS) {
        n.overran = true;
        frame.eflags &= ~x86::EFLAGS_TF;   // stop here; the case fails
        return true;
    }
    Task* t = sched::current();
    if (t != n.last) {
        if (n.last) {
            ++n.task_changes;
            n.changed_from = n.last;
            n.changed_to = t;
        }
        n.last = t;
    }
    if (t != s.tasks[0] && t != s.tasks[1]) {
        ++n.foreign;   // not ours to check: its pages hold other words
        return true;
    }
    const int w = s.watched.at(frame.eip);
    if (w >= 0)
        ++n.in[w];
    if (s.check_interrupted)
        check_interrupted(t, frame.eip);
    map_own_page(frame.eip);
    return true;
}

// The #DB handler installed for a scope, with the handler's variant.
class StepTrap : Pinned {
public:
    StepTrap(Page* own_page, bool check_interrupted) {
        stepping = {};
        stepping.own_page = own_page;
        stepping.check_interrupted = check_interrupted;
        x86::set_exception_handler(VECTOR_DEBUG, on_single_step);
    }
    ~StepTrap() {
        stepping.active = false;
        x86::set_exception_handler(VECTOR_DEBUG, nullptr);
    }
};

// New counts for the next operation, in which `a` (and `b`) will be stepped.
void arm(Task* a, Task* b) {
    stepping.n = {};
    stepping.tasks[0] = a;
    stepping.tasks[1] = b;
    stepping.active = true;
}

// Stepped with interrupts off: the #DB handler is the interrupt here, and a
// real one would set need_resched, so that the preempt_enable() ending a
// kmap_atomic() section switched to another task, stepped in its place.
template <typename Body>
void step(Body&& body) {
    IrqsaveGuard no_interrupts;
    arm(sched::current(), nullptr);
    {
        SingleStep on;
        body();
    }
    stepping.active = false;
}

// Print one stepped operation and check it: stepped through each function
// in `need`, within the bound, no mismatch, only its own task(s) stepped,
// and for a switch exactly one change of task, from -> to.
void judge(ktest::Context& ktest_ctx, const char* what, u32 need, const Task* from = nullptr,
           const Task* to = nullptr) {
    const StepCounts& s = stepping.n;
    char where[96] = "";
    size_t n = 0;
    for (unsigned w = 0; w < NR_WATCHED; ++w)
        if (need & (1u << w) && n < sizeof(where))
            n += lib::format(where + n, sizeof(where) - n, "%s%u in %s", n ? ", " : "", s.in[w],
                             watched_label[w]);
    ktest_ctx.diag("%-12s %5u boundaries (%s), %u mismatches", what, s.boundaries, where,
                   s.mismatches);
    for (unsigned w = 0; w < NR_WATCHED; ++w)
        if (need & (1u << w) && s.in[w] == 0)
            KTEST_FAIL("%s: no boundary in %s", what, watched_label[w]);
    EXPECT_FALSE(s.overran);
    EXPECT_EQ(s.foreign, 0u);
    EXPECT_EQ(s.mismatches, 0u);
    if (s.mismatches) {
        u32 offset = 0;
        const char* fn = ksym::lookup(s.first.eip, &offset, nullptr);
        ktest_ctx.diag("first: %s at %s+%#x: position %u, live PTE %#" PRIxPTE ", saved %#" PRIxPTE,
                       s.first.what, fn ? fn : "?", offset, s.first.pos, s.first.live.raw(),
                       s.first.saved.raw());
    }
    EXPECT_EQ(s.task_changes, from ? 1u : 0u);
    if (from) {
        EXPECT_EQ(s.changed_from, from);
        EXPECT_EQ(s.changed_to, to);
    }
}

// ---- map, unmap, nested, kmap_atomic --------------------------------------------

// Each is stepped while the task holds two mappings of its own.
void step_maps_and_unmaps(ktest::Context& ktest_ctx) {
    SlotPages<2 + 3> pages;
    if (!pages.ok())
        KTEST_SKIP("needs highmem pages (or force-map)");
    MappedStack held(pages.page(), 2);
    Page* const* p = pages.page() + 2;

    void* va = nullptr;
    step([&] { va = stepped_map(p[0]); });
    judge(ktest_ctx, "map", bit(MAP));
    step([&] { stepped_unmap(va); });
    judge(ktest_ctx, "unmap", bit(UNMAP));

    step([&] {
        void* a = stepped_map(p[0]);
        void* b = stepped_map(p[1]);
        void* c = stepped_map(p[2]);
        stepped_unmap(c);
        stepped_unmap(b);
        stepped_unmap(a);
    });
    judge(ktest_ctx, "nested x3", bit(MAP) | bit(UNMAP));

    u32 word = 0;
    step([&] {
        void* a = stepped_map_atomic(p[0]);
        word = *static_cast<volatile u32*>(a);
        stepped_unmap_atomic(a);
    });
    judge(ktest_ctx, "kmap_atomic", bit(MAP) | bit(UNMAP));
    EXPECT_EQ(word, word_of(page_to_pfn(p[0]), 0));

    EXPECT_EQ(held.mismatches(), 0u);
    EXPECT_EQ(kmap_local_depth(), 2);
}

// ---- the context switch ---------------------------------------------------------
//
// Two tasks pinned to one CPU, each holding mappings. Y wakes X and stays
// queued behind it (preempted inside its complete()); X, just switched in
// with its whole time slice ahead, sets TF and yields: __schedule,
// prepare_switch (X's slots cleared), switch_to, and on Y's stack
// finish_task_switch, finish_switch (Y's slots restored), back out of Y's
// complete(), until Y clears TF. A yield, not a wake-up preemption: that
// one has a window (the preempt count already zero, __schedule not yet
// entered) in which a tick would take the switch with TF clear; a slice
// runs out only on the second tick, long after X's few steps to yield.

struct Side {
    unsigned depth;
    Page* pages[MAX_HELD];
    Task* task;
    u32 mismatches;   // of its own mappings, after the switch
};

struct SwitchRun {
    Side out, in;
    unsigned cpu;
    Task* coordinator;
    sched::Completion out_go;
    bool alone;       // X found only Y queued when it began stepping
};
SwitchRun* run;

bool queued_or_running(const Task* t) { return __atomic_load_n(&t->on_rq, __ATOMIC_ACQUIRE); }

void outgoing(void*) {
    SwitchRun& r = *run;
    MappedStack mine(r.out.pages, r.out.depth);
    r.out_go.wait();
    r.alone = r.in.task && sched::nr_queued(r.cpu) == 1 && queued_or_running(r.in.task);
    if (r.alone) {
        SingleStep on;
        sched::yield();   // the switch under test
    }
    r.out.mismatches = mine.mismatches();
}

void incoming(void*) {
    SwitchRun& r = *run;
    MappedStack mine(r.in.pages, r.in.depth);
    // X asleep in its wait, the coordinator in its join, nothing queued here.
    while (queued_or_running(r.out.task) || queued_or_running(r.coordinator) ||
           sched::nr_queued(r.cpu) != 0)
        sched::sleep_ticks(1);
    r.out_go.complete();   // X runs at once, and yields back with TF set
    stop_single_stepping();
    r.in.mismatches = mine.mismatches();
}

void step_switch(ktest::Context& ktest_ctx, unsigned out_depth, unsigned in_depth) {
    SlotPages<2 * MAX_HELD> pages;
    if (!pages.ok())
        KTEST_SKIP("needs highmem pages (or force-map)");
    SwitchRun r{};
    r.out.depth = out_depth;
    r.in.depth = in_depth;
    for (unsigned i = 0; i < MAX_HELD; ++i) {
        r.out.pages[i] = pages.page()[i];
        r.in.pages[i] = pages.page()[MAX_HELD + i];
    }
    r.cpu = x86::num_online_cpus() > 1 ? 1 : 0;
    r.coordinator = sched::current();
    run = &r;
    sched::KthreadOptions there;
    there.allowed = x86::cpu_bit(r.cpu);
    there.cpu = static_cast<int>(r.cpu);
    r.out.task = sched::kthread_create(outgoing, nullptr, "step-out", there);
    ASSERT_NOT_NULL(r.out.task);
    r.in.task = sched::kthread_create(incoming, nullptr, "step-in", there);
    if (r.in.task) {
        arm(r.out.task, r.in.task);
        sched::kthread_join(r.in.task);
    } else {
        r.out_go.complete();   // X finds no Y, steps nothing and exits
    }
    sched::kthread_join(r.out.task);
    stepping.active = false;
    run = nullptr;
    ASSERT_NOT_NULL(r.in.task);

    char what[24];
    lib::format(what, sizeof(what), "switch %u->%u", out_depth, in_depth);
    judge(ktest_ctx, what, bit(SCHED_OUT) | bit(SCHED_IN), r.out.task, r.in.task);
    EXPECT_TRUE(r.alone);
    EXPECT_EQ(r.out.mismatches, 0u);
    EXPECT_EQ(r.in.mismatches, 0u);
}

void step_everything(ktest::Context& ktest_ctx, bool check_interrupted) {
    Page* own = slot_page();
    if (!own)
        KTEST_SKIP("needs a highmem page (or force-map)");
    {
        StepTrap trap(own, check_interrupted);
        step_maps_and_unmaps(ktest_ctx);
        // The incoming task deeper than the outgoing one, and the reverse.
        if (!ktest_ctx.skipped())
            step_switch(ktest_ctx, 1, 3);
        if (!ktest_ctx.skipped())
            step_switch(ktest_ctx, 3, 1);
    }
    free_page(own);
}

} // namespace

KTEST(kmap_step, an_exception_at_every_boundary_maps_and_unmaps_its_own_page) {
    step_everything(ktest_ctx, false);
}

KTEST(kmap_step, an_exception_at_every_boundary_finds_the_interrupted_tasks_mappings_intact) {
    step_everything(ktest_ctx, true);
}

// The negative control: the original RFC's single-phase switch, stepped the
// same way, with the outgoing task shallower than the incoming one. In
// prepare_switch, current is still X while the loop writes Y's PTEs: at the
// boundary after it writes the one at X's depth, the handler's map lands
// on that slot and hits K6's BUG.
KTEST_CRASH(kmap_local_step_single_phase_switch_hits_k6, .site = "kmap_local.slot_busy",
            .frames = "map_own_page,sched_out", .report = "is not empty") {
    Page* own = slot_page();
    BUG_ON(!own);
    StepTrap trap(own, false);
    testing::InstrumentedKmapSwitch single_phase({.single_phase = true});
    step_switch(ktest_ctx, 1, 3);
}
