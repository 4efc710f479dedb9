// The state the GDB helpers show, printed by the kernel itself.
//
// tools/himemlib/gdb_session.py boots this manual suite with QEMU's GDB stub
// on 2 CPUs, breaks in gdb_dump_stop(), runs each `himem` helper and
// compares its output with the block below, which the kernel printed on
// the serial console just before calling gdb_dump_stop(). The formats are
// tools/gdb/himem_gdb/render.py's, line for line (docs/debugging.md).
//
// The scene: a task on CPU 0 ("gdb-holder") holds two kmap() slots and
// three kmap_local mappings and sleeps; a test switch-out hook, inside the
// switch path after kmap_local's prepare half cleared its slots, prints the
// dump and calls gdb_dump_stop(). CPU 1 runs "gdb-peer", which holds one
// kmap_local mapping and spins with interrupts off until the holder is
// back, so nothing on either CPU moves between the dump and the stop.
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "lib/format.h"
#include "lib/new.h"
#include "lib/printk.h"
#include "mm/fixmap_layout.h"
#include "mm/kmap_local.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/pkmap.h"
#include "mm/pkmap_testing.h"
#include "mm/vmalloc.h"
#include "sched/sched.h"
#include "sched/sched_testing.h"
#include "sched/task.h"
#include "tests/kernel/helpers.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using sched::Task;

KTEST_SUITE(gdb_dump, .manual = true);

// Where the debugger stops. Out of line and visible, so that a breakpoint
// on it is one address; the asm keeps the call from being merged away.
extern "C" [[gnu::noinline]] void gdb_dump_stop() { asm volatile("" ::: "memory"); }

namespace {

constexpr unsigned WIDTH = sizeof(x86::Pte);   // bytes per entry: 4 or 8

struct Scene {
    Page* local_pages[3];
    Page* pool_pages[2];
    Page* peer_page;
    void* local[3];
    void* pool[2];
    void* peer_va;
    Task* holder;
    Task* peer;
    Atomic<u32> peer_ready{0};
    Atomic<u32> release{0};
    Atomic<u32> armed{0};
    Atomic<u32> dumped{0};
    // The pool's slots in use, read before the switch: its accessors take
    // the pool lock, which may not be taken with interrupts off, and
    // nothing kmaps or kunmaps between the two.
    struct Slot {
        u32 nr;
        int count;
        u64 entry;
    } slots[8];
    unsigned nslots;
    PkmapStats stats;
};
Scene* scene;

// ---- the formats of render.py ----------------------------------------------------

const char* entry_hex(u64 raw, char* buf) {
    if (WIDTH == 8)
        lib::format(buf, 24, "0x%016llx", static_cast<unsigned long long>(raw));
    else
        lib::format(buf, 24, "0x%08x", static_cast<u32>(raw));
    return buf;
}

u64 frame_of(u64 raw) { return (raw & (WIDTH == 8 ? 0x0000000ffffff000ull : 0xfffff000ull)) >> 12; }

const char* flag_words(u64 raw, char* buf, size_t size) {
    static const struct { unsigned bit; const char* name; } names[] = {
        {0, "present"}, {1, "write"}, {2, "user"}, {3, "pwt"}, {4, "pcd"}, {5, "accessed"},
        {6, "dirty"}, {7, "pse"}, {8, "global"}, {9, "soft-write"}, {10, "soft-enabled"},
        {63, "nx"}};
    size_t n = 0;
    buf[0] = '\0';
    for (const auto& f : names)
        if (raw >> f.bit & 1)
            n += lib::format(buf + n, size - n, "%s%s", n ? " " : "", f.name);
    if (!n)
        lib::format(buf, size, "none");
    return buf;
}

u64 raw_pte(const x86::Pte& e) { return static_cast<u64>(e.raw()); }

int running_cpu(const Task* t) {
    for (unsigned c = 0; c < x86::NR_CPUS; ++c)
        if (x86::cpu_online(c) && x86::cpu_data[c].current == t)
            return static_cast<int>(c);
    return -1;
}

void print_kmap(Task* t) {
    const int on = running_cpu(t);
    const unsigned cpu = on >= 0 ? static_cast<unsigned>(on) : t->cpu;
    const x86::PerCpu& b = x86::cpu_data[cpu];
    char where[48];
    if (on >= 0)
        lib::format(where, sizeof(where), "current on CPU %u", cpu);
    else
        lib::format(where, sizeof(where), "not running (last CPU %u)", cpu);
    printk("task %s at 0x%08x: kmap_local depth %d, %s\n", t->name, reinterpret_cast<u32>(t),
           t->kmap_ctrl.idx, where);
    for (int pos = 0; pos < t->kmap_ctrl.idx; ++pos) {
        const u64 saved = raw_pte(t->kmap_ctrl.pteval[pos]);
        char s[64], e[24], live[48];
        if (saved)
            lib::format(s, sizeof(s), "%s frame 0x%llx", entry_hex(saved, e),
                        static_cast<unsigned long long>(frame_of(saved)));
        else
            lib::format(s, sizeof(s), "empty");
        if (on < 0) {
            lib::format(live, sizeof(live), "-");
        } else {
            const auto* ptes = static_cast<const x86::Pte*>(b.kmap_pte);
            const u64 l = raw_pte(x86::read_pte(ptes - pos));
            // The CPU sets Accessed and Dirty in a live entry itself.
            constexpr u64 AD = 0x60;
            if (l == saved)
                lib::format(live, sizeof(live), "agrees");
            else if ((l & ~AD) == (saved & ~AD))
                lib::format(live, sizeof(live), "agrees (CPU set%s%s)",
                            (l & ~saved & 0x20) ? " accessed" : "", (l & ~saved & 0x40) ? " dirty" : "");
            else
                lib::format(live, sizeof(live), "differs: %s", entry_hex(l, e));
        }
        printk("  pos %2d slot 0x%08x saved %s live %s\n", pos, b.kmap_vaddr - pos * PAGE_SIZE, s,
               live);
    }
}

void print_pkmap(u32 cursor) {
    const PkmapStats& st = scene->stats;
    // The cursor and the sleepers are the pool's private fields: the scene
    // knows them (a fresh pool, whose cursor is the last slot handed out,
    // and no task waits).
    printk("pkmap pool: %u slots at 0x%08x, cursor %u, wraps %u, flushes %u, sleepers %u\n",
           LAST_PKMAP, PKMAP_BASE, cursor, st.wraps, st.flushes, 0u);
    unsigned held = 0, waiting = 0;
    for (unsigned i = 0; i < scene->nslots; ++i) {
        const u32 nr = scene->slots[i].nr;
        const int count = scene->slots[i].count;
        char state[24];
        if (count == 1) {
            ++waiting;
            lib::format(state, sizeof(state), "waits for a wrap");
        } else {
            ++held;
            lib::format(state, sizeof(state), "held by %d", count - 1);
        }
        printk("  slot %4u at 0x%08x count %d (%s) frame 0x%llx\n", nr, pkmap_addr(nr), count,
               state, static_cast<unsigned long long>(frame_of(scene->slots[i].entry)));
    }
    printk("totals: %u held, %u waiting for a wrap, %u free\n", held, waiting,
           LAST_PKMAP - held - waiting);
}

void print_cpus() {
    for (unsigned c = 0; c < x86::NR_CPUS; ++c) {
        if (!x86::cpu_online(c))
            continue;
        const x86::PerCpu& b = x86::cpu_data[c];
        const auto* t = static_cast<const Task*>(b.current);
        printk("cpu %u: current %s preempt 0x%08x migrate %u irq_depth %u pkrs 0x%08x "
               "tlb invlpg %u full %u shootdowns %u\n",
               c, t ? t->name : "-", b.preempt_count, t ? t->migrate_disable : 0, b.irq_depth,
               b.pkrs, b.tlb_invlpg, b.tlb_full_flushes, b.tlb_shootdowns_received);
    }
}

void print_task(Task* t, void*) {
    static const char* const states[] = {"runnable", "sleeping", "dead"};
    const char* state = running_cpu(t) >= 0 ? "running" : states[static_cast<u32>(t->state)];
    printk("task %s at 0x%08x: %s cpu %u allowed 0x%08x kmap depth %d\n", t->name,
           reinterpret_cast<u32>(t), state, t->cpu, t->allowed, t->kmap_ctrl.idx);
}

const char* region(u32 va, char* buf, size_t size) {
    const u32 lowmem_end = PAGE_OFFSET + max_low_pfn.value() * PAGE_SIZE;
    const u32 idx = (FIXADDR_TOP - (va & PAGE_MASK)) >> PAGE_SHIFT;
    if (va >= PAGE_OFFSET && va < lowmem_end)
        lib::format(buf, size, "direct map of physical 0x%x", va - PAGE_OFFSET);
    else if (is_pkmap_address(va))
        lib::format(buf, size, "pkmap pool slot %u", pkmap_nr(va));
    else if (va >= VMALLOC_START && va < VMALLOC_END)
        lib::format(buf, size, "vmalloc");
    else if (va <= FIXADDR_TOP + PAGE_SIZE - 1 && idx >= FIX_KMAP_BEGIN && idx <= FIX_KMAP_END &&
             (idx - FIX_KMAP_BEGIN) / KM_MAX_IDX < x86::NR_CPUS)
        lib::format(buf, size, "fixmap kmap slot %u of CPU %u", (idx - FIX_KMAP_BEGIN) % KM_MAX_IDX,
                    (idx - FIX_KMAP_BEGIN) / KM_MAX_IDX);
    else if (va <= FIXADDR_TOP + PAGE_SIZE - 1 && idx < END_OF_FIXED_ADDRESSES)
        lib::format(buf, size, "fixmap index %u", idx);
    else if (va < PAGE_OFFSET)
        lib::format(buf, size, "user space");
    else
        lib::format(buf, size, "unused kernel space");
    return buf;
}

// An entry at a physical address, through the direct map, as the helper
// reads it (every kernel page table is in lowmem).
u64 read_phys(u64 phys) {
    const auto* p = static_cast<const x86::Pte*>(phys_to_virt(PhysAddr(phys)));
    return raw_pte(x86::read_pte(p));
}

void print_level(const char* name, u64 raw) {
    char e[24], f[160];
    printk("  %s %s %s\n", name, entry_hex(raw, e), flag_words(raw, f, sizeof(f)));
}

void print_pte(u32 va) {
    char r[64], e[24], f[160];
    printk("gdbdump: himem pte 0x%08x\n", va);
    printk("0x%08x: %s\n", va, region(va, r, sizeof(r)));
    const u64 cr3 = x86::read_cr3();
    const u64 mask = WIDTH == 8 ? 0x0000000ffffff000ull : 0xfffff000ull;
    u64 pte;
    if (WIDTH == 8) {
        const u64 pdpte = read_phys((cr3 & ~0x1full) + (va >> 30) * 8);
        print_level("pdpte", pdpte);
        if (!(pdpte & 1))
            return printk("  no page table: not mapped\n");
        const u64 pde = read_phys((pdpte & mask) + ((va >> 21) & 511) * 8);
        print_level("pde", pde);
        if (!(pde & 1) || (pde & 0x80))
            return printk("  no page table: not mapped\n");
        pte = read_phys((pde & mask) + ((va >> 12) & 511) * 8);
    } else {
        const u64 pde = read_phys((cr3 & ~0xfffull) + (va >> 22) * 4);
        print_level("pde", pde);
        if (!(pde & 1) || (pde & 0x80))
            return printk("  no page table: not mapped\n");
        pte = read_phys((pde & mask) + ((va >> 12) & 1023) * 4);
    }
    if (pte & 1)
        printk("  pte %s frame 0x%llx %s\n", entry_hex(pte, e),
               static_cast<unsigned long long>(frame_of(pte)), flag_words(pte, f, sizeof(f)));
    else
        printk("  pte %s not present\n", entry_hex(pte, e));
}

// The dump, inside the switch path: interrupts off, current() == the holder,
// whose slots kmap_local's prepare half has just cleared.
void dump(Task* holder) {
    Scene& s = *scene;
    printk("gdbdump: begin\n");
    printk("gdbdump: himem kmap gdb-holder\n");
    print_kmap(holder);
    printk("gdbdump: himem kmap gdb-peer\n");
    print_kmap(s.peer);
    printk("gdbdump: himem pkmap\n");
    print_pkmap(pkmap_nr(reinterpret_cast<u32>(s.pool[1])));
    printk("gdbdump: himem cpus\n");
    print_cpus();
    printk("gdbdump: himem tasks\n");
    sched::testing::for_each_task(print_task, nullptr);
    for (void* va : s.local)
        print_pte(reinterpret_cast<u32>(va));
    for (void* va : s.pool)
        print_pte(reinterpret_cast<u32>(va));
    print_pte(reinterpret_cast<u32>(s.peer_va));
    print_pte(reinterpret_cast<u32>(holder));                          // direct map
    print_pte(reinterpret_cast<u32>(holder->stack));                   // vmalloc
    print_pte(reinterpret_cast<u32>(holder->stack) - PAGE_SIZE);       // its guard page
    printk("gdbdump: $percpu(\"cpu_index\", 1) = 0x%x\n", x86::cpu_data[1].cpu_index);
    printk("gdbdump: $percpu(\"apic_id\", 1) = 0x%x\n", x86::cpu_data[1].apic_id);
    printk("gdbdump: $percpu(\"kmap_vaddr\", 1) = 0x%x\n", x86::cpu_data[1].kmap_vaddr);
    printk("gdbdump: $current_task(0) = 0x%x\n", reinterpret_cast<u32>(x86::cpu_data[0].current));
    printk("gdbdump: $current_task(1) = 0x%x\n", reinterpret_cast<u32>(x86::cpu_data[1].current));
    printk("gdbdump: end\n");
}

void switch_out(Task* prev, Task*) {
    if (prev != scene->holder || !scene->armed.exchange(0))
        return;
    dump(prev);
    scene->dumped.store(1);
    gdb_dump_stop();
}

const sched::TaskHooks dump_hooks = {.name = "gdb_dump", .switch_out = switch_out};

void peer_fn(void*) {
    Scene& s = *scene;
    s.peer_va = kmap_local_page(s.peer_page);
    *static_cast<volatile u32*>(s.peer_va) = 0x9eee9eeeu;
    const u32 flags = x86::irq_save();
    s.peer_ready.store(1);
    while (!s.release.load())
        x86::pause();
    x86::irq_restore(flags);
    kunmap_local(s.peer_va);
}

void holder_fn(void*) {
    Scene& s = *scene;
    for (unsigned i = 0; i < 2; ++i)
        s.pool[i] = kmap(s.pool_pages[i]);
    for (unsigned i = 0; i < 3; ++i) {
        s.local[i] = kmap_local_page(s.local_pages[i]);
        *static_cast<volatile u32*>(s.local[i]) = 0x10ca1000u + i;
    }
    s.nslots = 0;
    for (u32 nr = 0; nr < LAST_PKMAP; ++nr) {
        const int count = pkmap_count(nr);
        if (count && s.nslots < 8)
            s.slots[s.nslots++] = {nr, count, raw_pte(pkmap_pte(nr))};
    }
    s.stats = pkmap_stats();
    s.armed.store(1);
    sched::sleep_ticks(1);   // the switch the dump is taken in
    s.release.store(1);
    for (unsigned i = 3; i-- > 0;)
        kunmap_local(s.local[i]);
    for (unsigned i = 0; i < 2; ++i)
        kunmap(s.pool_pages[i]);
}

} // namespace

KTEST(gdb_dump, three_local_and_two_pool_mappings_at_a_switch) {
    if (x86::num_online_cpus() < 2)
        KTEST_SKIP("needs a second CPU");
    Page* storage[6];
    test_support::HighmemPages pages(storage);
    KTEST_NEED_HIGHMEM(pages, 6);
    ASSERT_TRUE(pkmap_test_reset());   // a fresh pool: the cursor is the last slot taken
    static Scene s;
    s.~Scene();
    new (&s) Scene();
    scene = &s;
    for (unsigned i = 0; i < 3; ++i)
        s.local_pages[i] = pages[i];
    s.pool_pages[0] = pages[3];
    s.pool_pages[1] = pages[4];
    s.peer_page = pages[5];
    // This thread stays on CPU 0: CPU 1 will spin with interrupts off.
    sched::set_cpus_allowed(x86::cpu_bit(0));
    sched::testing::TaskHooksGuard hooks(dump_hooks);
    s.peer = sched::kthread_create(peer_fn, nullptr, "gdb-peer", test_support::pinned_to(1));
    ASSERT_NOT_NULL(s.peer);
    while (!s.peer_ready.load())
        sched::sleep_ticks(1);
    s.holder = sched::kthread_create(holder_fn, nullptr, "gdb-holder", test_support::pinned_to(0));
    ASSERT_NOT_NULL(s.holder);
    sched::kthread_join(s.holder);
    sched::kthread_join(s.peer);
    sched::set_cpus_allowed(~0u);
    EXPECT_EQ(s.dumped.load(), 1u);
    scene = nullptr;
}
