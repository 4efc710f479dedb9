// panic, BUG and WARN.
//
// Every WARN and BUG site has a stable id: the function it sits in, or an
// explicit name for the diagnostics tests care about ("kmap_local.unmap_order").
// A WARN site counts every hit, including repeats of a once-site that are not
// printed, so a test can expect "this site fired n times" whatever ran before.
// Sites enrol themselves on their first hit; warn::for_each_site() walks them.
//
//   WARN_ON(cond)                 report if cond, id = function; returns cond
//   WARN_ON_ONCE(cond)            the same, printed only on the first hit
//   WARN(id, cond, fmt, ...)      explicit id and message
//   WARN_ONCE(id, cond, fmt, ...)
//   BUG_ON(cond)                  unrecoverable: report and stop, id = function
//   BUG(id, fmt, ...)             unconditional, explicit id and message
//   panic(fmt, ...)
#pragma once

#include "lib/atomic.h"
#include "lib/format.h"

struct WarnSite {
    const char* id;
    const char* file;
    int line;
    bool once;
    Atomic<u32> hits{0};
    Atomic<bool> enrolled{false};
    WarnSite* next = nullptr;

    constexpr WarnSite(const char* id_, const char* file_, int line_, bool once_)
        : id(id_), file(file_), line(line_), once(once_) {}
};

struct BugSite {
    const char* id;
    const char* file;
    int line;
};

namespace warn {

// Records a hit and prints the report unless this is a repeat of a once-site.
void hit(WarnSite& site, const char* fmt, ...) HIMEM_PRINTF(2, 3);

// Total hits of every site with this id.
u32 hits(const char* id);

// Visit every site that has been hit at least once.
template <typename F>
void for_each_site(F&& f);

WarnSite* enrolled_sites();

// Called on every hit, after counting (the self-test harness captures with it).
using Observer = void (*)(const WarnSite& site);
void set_observer(Observer observer);

} // namespace warn

template <typename F>
void warn::for_each_site(F&& f) {
    for (WarnSite* s = enrolled_sites(); s; s = s->next)
        f(*s);
}

[[noreturn]] void panic(const char* fmt, ...) HIMEM_PRINTF(1, 2);

// For fatal reports printed outside panic(), such as a CPU exception:
// oops_begin() turns interrupts off and breaks the console lock (a second
// crash while one is being reported stops at once); oops_end() prints the
// crash line and the panic line, and stops the machine.
//
// Every fatal path ends with the line "crash: site=<id> cpu=<n>", which the
// host runner matches against a crash test's expected site: a BUG's id,
// "panic", "x86.exception.<vector>", "x86.double_fault", "x86.stack_overflow".
void oops_begin();
[[noreturn]] void oops_end(const char* site, const char* reason);
[[noreturn]] void bug_report(const BugSite& site, const char* fmt, ...) HIMEM_PRINTF(2, 3);

#define HIMEM_WARN_IMPL(id_, once_, cond_, ...)                                   \
    ({                                                                            \
        const bool warn_cond_ = !!(cond_);                                        \
        if (unlikely(warn_cond_)) {                                               \
            static WarnSite warn_site_(id_, __FILE__, __LINE__, once_);           \
            ::warn::hit(warn_site_, __VA_ARGS__);                                 \
        }                                                                         \
        warn_cond_;                                                               \
    })

#define WARN_ON(cond) HIMEM_WARN_IMPL(__func__, false, cond, "%s", "WARN_ON(" #cond ")")
#define WARN_ON_ONCE(cond) HIMEM_WARN_IMPL(__func__, true, cond, "%s", "WARN_ON_ONCE(" #cond ")")
#define WARN(id, cond, ...) HIMEM_WARN_IMPL(id, false, cond, __VA_ARGS__)
#define WARN_ONCE(id, cond, ...) HIMEM_WARN_IMPL(id, true, cond, __VA_ARGS__)

#define BUG(id_, ...)                                                             \
    do {                                                                          \
        static constexpr BugSite bug_site_{id_, __FILE__, __LINE__};              \
        ::bug_report(bug_site_, __VA_ARGS__);                                     \
    } while (0)

#define BUG_ON(cond)                                                              \
    do {                                                                          \
        if (unlikely(!!(cond)))                                                   \
            BUG(__func__, "%s", "BUG_ON(" #cond ")");                             \
    } while (0)
