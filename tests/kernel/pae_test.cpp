// PAE: entries that reach frames above 4 GiB, written so that no reader sees
// half of one, and execute-disable on data. Each mapping path reads a frame
// above 4 GiB and the frame below it that a PTE without its high word would
// name instead, both filled with their own physical addresses.
//
// In the 2-level build the cases skip: its entries are one word and end at
// 4 GiB (crash.kmap_local_pfn_above_4g_is_refused covers that refusal).
#include "arch/x86/idt.h"
#include "arch/x86/paging.h"
#include "mm/buddy.h"
#include "mm/kmap_local.h"
#include "mm/layout.h"
#include "mm/page.h"
#include "mm/page_copy.h"
#include "mm/pgtable.h"
#include "mm/pkmap.h"
#include "tests/kernel/helpers.h"
#include "tests/kernel/single_step.h"
#include "tests/ktest/ktest.h"

using namespace mm;
using test_support::FIRST_PFN_ABOVE_4G;

KTEST_SUITE(pae);

namespace {

constexpr bool PAE = x86::PTE_PFN_LIMIT > FIRST_PFN_ABOVE_4G;

#define NEED_PAE()                                                                \
    do {                                                                          \
        if (!PAE)                                                                 \
            KTEST_SKIP("2-level entries are one word and end at 4 GiB");          \
    } while (0)

// Word i of a frame: its own physical address plus the byte offset, both
// halves, so a mapping of any other frame (an alias 4 GiB lower above all)
// reads the wrong words.
u64 word_of(Pfn pfn, u32 i) { return pfn.phys().value() + i * 8; }

void fill_with_address(void* va, Pfn pfn) {
    auto* w = static_cast<u64*>(va);
    for (u32 i = 0; i < PAGE_SIZE / 8; ++i)
        w[i] = word_of(pfn, i);
}

u32 wrong_words(const void* va, Pfn pfn) {
    const auto* w = static_cast<const u64*>(va);
    u32 bad = 0;
    for (u32 i = 0; i < PAGE_SIZE / 8; ++i)
        bad += w[i] != word_of(pfn, i);
    return bad;
}

// A frame above 4 GiB and its alias: the frame 4 GiB below it (the same low
// 32 bits of physical address), both highmem and free. Freed at scope end.
struct AliasPair : Pinned {
    Page* high = nullptr;
    Page* low = nullptr;

    AliasPair() {
        for (Pfn start = FIRST_PFN_ABOVE_4G; start < max_pfn && !low; start = start + 4096) {
            high = alloc_pages_in(Gfp::HighUser, 0, PfnRange{start, max_pfn});
            if (!high)
                return;
            const Pfn alias(page_to_pfn(high).value() - FIRST_PFN_ABOVE_4G.value());
            if (alias >= max_low_pfn)
                low = alloc_pages_in(Gfp::HighUser, 0, PfnRange{alias, alias + 1});
            if (!low) {
                free_page(high);
                high = nullptr;
            }
        }
    }
    ~AliasPair() {
        if (low)
            free_page(low);
        if (high)
            free_page(high);
    }
    bool ok() const { return high && low; }
};

#define NEED_ALIAS_PAIR(pair)                                                     \
    do {                                                                          \
        NEED_PAE();                                                               \
        if (!(pair).ok())                                                         \
            KTEST_SKIP("needs free highmem above 4 GiB and 4 GiB below it");      \
    } while (0)

// Fill both frames of the pair through kmap_local.
void fill_pair(const AliasPair& pair) {
    Page* const pages[] = {pair.high, pair.low};
    for (Page* p : pages) {
        void* va = kmap_local_page(p);
        fill_with_address(va, page_to_pfn(p));
        kunmap_local(va);
    }
}

} // namespace

KTEST(pae, entries_hold_frames_above_4g_whole) {
    NEED_PAE();
    const x86::PteFlags rw = x86::PTE_PRESENT | x86::PTE_WRITE;
    const u32 pfns[] = {0x100000u, 0x1c0000u, 0xabcdefu, 0xffffffu};
    for (u32 pfn : pfns) {
        const x86::Pte e = x86::Pte::make(Pfn(pfn), rw);
        EXPECT_EQ(e.pfn().value(), pfn);
        EXPECT_EQ(static_cast<u32>(static_cast<u64>(e.raw()) >> 32), pfn >> 20);
        EXPECT_EQ(static_cast<u32>(e.raw()), (pfn << 12) | static_cast<u32>(rw.value()));
        // Through the accessors too: a read gives back both words.
        x86::Pte slot;
        x86::set_pte(&slot, e);
        EXPECT_EQ(x86::read_pte(&slot).raw(), e.raw());
        x86::pte_clear(&slot);
        EXPECT_TRUE(x86::read_pte(&slot).none());
    }
    EXPECT_EQ(x86::PTE_PFN_LIMIT.value(), 1u << 24);   // 64 GiB: HIGHMEM64G
    EXPECT_EQ(LAST_PKMAP, 512u);
}

KTEST(pae, kmap_local_and_kmap_atomic_read_a_frame_above_4g_not_its_alias) {
    AliasPair pair;
    NEED_ALIAS_PAIR(pair);
    fill_pair(pair);
    const Pfn high = page_to_pfn(pair.high);
    // Nested, both ways round: each slot keeps its own frame.
    void* a = kmap_local_page(pair.high);
    void* b = kmap_local_page(pair.low);
    EXPECT_EQ(wrong_words(a, high), 0u);
    EXPECT_EQ(wrong_words(b, page_to_pfn(pair.low)), 0u);
    EXPECT_EQ(x86::read_pte(lookup_kernel_pte(VirtAddr(a))).pfn(), high);
    kunmap_local(b);
    kunmap_local(a);
    void* c = kmap_atomic(pair.high);
    EXPECT_EQ(wrong_words(c, high), 0u);
    kunmap_atomic(c);
    ktest_ctx.diag("frame %#x above 4 GiB, its alias %#x below", high.value(),
                   page_to_pfn(pair.low).value());
}

KTEST(pae, the_last_frame_below_64g_maps) {
    NEED_PAE();
    const Pfn last = x86::PTE_PFN_LIMIT - 1;
    if (max_pfn <= last)
        KTEST_SKIP("RAM ends below 64 GiB (QEMU -m 63G reaches it)");
    Page* page = alloc_pages_in(Gfp::HighUser, 0, PfnRange{last, last + 1});
    if (!page)
        KTEST_SKIP("the last frame is not free");
    test_support::AtScopeExit free_it([page] { free_page(page); });
    void* va = kmap_local_page(page);
    ktest_ctx.diag("PTE %#llx", static_cast<unsigned long long>(
                                    x86::read_pte(lookup_kernel_pte(VirtAddr(va))).raw()));
    fill_with_address(va, last);
    EXPECT_EQ(wrong_words(va, last), 0u);
    kunmap_local(va);
}

KTEST(pae, kmap_and_the_page_helpers_read_a_frame_above_4g_not_its_alias) {
    AliasPair pair;
    NEED_ALIAS_PAIR(pair);
    fill_pair(pair);
    const Pfn high = page_to_pfn(pair.high);
    void* k = kmap(pair.high);
    EXPECT_EQ(wrong_words(k, high), 0u);
    EXPECT_EQ(x86::read_pte(lookup_kernel_pte(VirtAddr(k))).pfn(), high);
    kunmap(pair.high);
    // The helpers, which map for themselves: a copy each way and a read.
    u64 first[2] = {};
    memcpy_from_page(first, pair.high, 0, sizeof(first));
    EXPECT_EQ(first[0], word_of(high, 0));
    EXPECT_EQ(first[1], word_of(high, 1));
    Page* copy = test_support::alloc_highmem_page();
    ASSERT_NOT_NULL(copy);
    test_support::AtScopeExit free_copy([copy] { free_page(copy); });
    copy_highpage(copy, pair.high);
    void* c = kmap_local_page(copy);
    EXPECT_EQ(wrong_words(c, high), 0u);
    kunmap_local(c);
}

// ---- the write order of a two-word entry ------------------------------------

namespace {

// What a step may find in the entry being written: the old value, the new
// one, and during a set the new high word under a zero low word, during a
// clear the old high word under a zero low word. Never a present low word
// beside a high word from the other value.
struct Torn {
    x86::Pte* entry = nullptr;
    u64 before = 0, after = 0;
    u32 steps = 0, halfway = 0, torn = 0;
    u64 first_torn = 0;
    bool active = false;
};
Torn torn;

bool allowed(u64 v, u64 before, u64 after) {
    if (v == before || v == after)
        return true;
    const u32 lo = static_cast<u32>(v), hi = static_cast<u32>(v >> 32);
    return lo == 0 && (hi == static_cast<u32>(after >> 32) || hi == static_cast<u32>(before >> 32));
}

bool on_step(x86::InterruptFrame&) {
    if (!torn.active)
        return false;
    const u64 v = torn.entry->raw();   // a plain read of both words: the CPU is stopped
    ++torn.steps;
    if (v != torn.before && v != torn.after)
        ++torn.halfway;
    if (!allowed(v, torn.before, torn.after) && torn.torn++ == 0)
        torn.first_torn = v;
    return true;
}

enum class Write { Set, Clear };

[[gnu::noinline]] void step_write(x86::Pte* e, x86::Pte value, Write how) {
    test_support::SingleStep on;
    if (how == Write::Set)
        x86::set_pte(e, value);
    else
        x86::pte_clear(e);
}

Torn step(x86::Pte before, x86::Pte after, Write how) {
    static x86::Pte entry;
    entry = before;
    torn = Torn{&entry, before.raw(), after.raw()};
    x86::set_exception_handler(test_support::VECTOR_DEBUG, on_step);
    // The #DB handler reads these: the compiler, which sees that step_write
    // does not, must still store them around it.
    torn.active = true;
    asm volatile("" ::: "memory");
    step_write(&entry, after, how);
    asm volatile("" ::: "memory");
    torn.active = false;
    x86::set_exception_handler(test_support::VECTOR_DEBUG, nullptr);
    return torn;
}

} // namespace

KTEST(pae, no_step_sees_half_of_an_entry_written) {
    NEED_PAE();
    const x86::PteFlags rw = x86::PTE_PRESENT | x86::PTE_WRITE;
    const x86::Pte a = x86::Pte::make(Pfn(0x1abcde), rw);
    const x86::Pte b = x86::Pte::make(Pfn(0x2bcdef), rw);
    struct {
        const char* what;
        x86::Pte before, after;
        Write how;
        bool halfway;   // whether a step must land between the two words
    } writes[] = {
        {"set", {}, a, Write::Set, true},
        {"clear", a, {}, Write::Clear, true},
        {"replace", a, b, Write::Set, false},   // one cmpxchg8b: no halfway
    };
    for (const auto& w : writes) {
        const Torn t = step(w.before, w.after, w.how);
        ktest_ctx.diag("%-8s %u steps, %u between the words, %u torn", w.what, t.steps, t.halfway,
                       t.torn);
        EXPECT_GT(t.steps, 0u);
        EXPECT_EQ(t.torn, 0u);
        if (t.torn)
            ktest_ctx.diag("%s: first torn value %#llx", w.what,
                           static_cast<unsigned long long>(t.first_torn));
        if (w.halfway)
            EXPECT_GT(t.halfway, 0u);
        else
            EXPECT_EQ(t.halfway, 0u);
    }
}

// ---- execute-disable ---------------------------------------------------------

namespace {
u32 some_data = 1;
[[gnu::noinline]] void some_code() { asm volatile(""); }

bool executable(const void* va) {
    return !x86::read_pte(lookup_kernel_pte(VirtAddr(va))).flags().has(x86::PTE_NX);
}
} // namespace

KTEST(pae, data_is_execute_disable_and_text_is_not) {
    NEED_PAE();
    if (!x86::nx_enabled())
        KTEST_SKIP("this CPU has no NX (QEMU: -cpu qemu32,nx=on)");
    EXPECT_TRUE(executable(reinterpret_cast<const void*>(&some_code)));
    EXPECT_FALSE(executable(&some_data));
    Page* page = test_support::alloc_highmem_page();
    if (!page)
        KTEST_SKIP("needs a free highmem page");
    test_support::AtScopeExit free_it([page] { free_page(page); });
    void* va = kmap_local_page(page);
    EXPECT_FALSE(executable(va));
    kunmap_local(va);
    void* k = kmap(page);
    EXPECT_FALSE(executable(k));
    kunmap(page);
}

#if HIMEM_PAE
namespace {
// One `ret` in a data buffer, called: NX makes the fetch fault.
alignas(16) u8 data_ret[16] = {0xc3};

// The fault's EIP is the data itself, which no symbol names, and the frame
// pointer is call_into_data's, whose return address names its caller: the
// trace shows run_data_as_code. Each makes a real call, not a jump, so that
// each frame stays.
[[gnu::noinline]] void call_into_data() {
    reinterpret_cast<void (*)()>(static_cast<void*>(data_ret))();
    asm volatile("");
}

[[gnu::noinline]] void run_data_as_code() {
    call_into_data();
    asm volatile("");
}
} // namespace

KTEST_CRASH(pae_nx_a_fetch_from_data_faults, .site = "x86.exception.PF",
            .frames = "run_data_as_code",
            .report = "error code 0x0011: protection violation, instruction fetch") {
    run_data_as_code();
}
#endif
