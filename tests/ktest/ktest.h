// ktest: the in-kernel self-test framework.
//
//   KTEST_SUITE(format);                         // or with hooks:
//   KTEST_SUITE(pool, .init = pool_init, .exit = pool_exit);
//
//   KTEST(format, pads_to_width) {
//       EXPECT_EQ(f(1), 2);       // records a failure and continues
//       ASSERT_NOT_NULL(p);       // records a failure and returns from the test
//       KTEST_SKIP("needs a second CPU");
//   }
//
// Suites and cases are const descriptors placed in the linker sections
// ktest_suites and ktest_cases (kept by boot/linker.ld): no constructors, no
// heap. ASSERT_* is a plain `return` from the test body, so RAII destructors
// in the body run as usual; it never longjmps. For the same reason ASSERT_*
// can only be used in the body itself or in functions returning void.
//
// WARN capture: every WARN hit during a case is attributed to it. A case that
// means to provoke one declares it first with KTEST_EXPECT_WARN("site", n);
// after the case, each declared site must have fired exactly n times and no
// other site at all, or the case fails.
//
// Output is KTAP version 1 with one nested level per suite, in KUnit's
// wording, then a closing line "N passed, N failed, N skipped".
#pragma once

#include "lib/format.h"
#include "lib/types.h"

namespace ktest {

class Context;
using TestFn = void (*)(Context&);

struct Suite {
    const char* name;
    int (*init)() = nullptr;   // non-zero return: every case of the suite fails
    void (*exit)() = nullptr;
    // A manual suite runs only when the filter names it explicitly (the filter
    // starts with the suite's name): the harness self-tests, which must fail.
    bool manual = false;
};

// A test that must end the machine: in a BUG, a panic or a fatal fault. It
// never runs in a normal boot; the host runner boots once per crash test with
// ktest.crash=NAME and checks the crash line's site and the call trace.
struct CrashCase {
    const char* name;
    TestFn fn;
    const char* site;         // expected "crash: site=..." id
    const char* frames;       // comma-separated functions the trace must name, innermost first
    bool manual = false;      // harness self-tests: run only by an explicit matrix entry
    const char* report = "";  // '|'-separated texts the crash report must contain
    const char* file = nullptr;
    int line = 0;
};

struct Case {
    const Suite* suite;
    const char* name;
    TestFn fn;
    const char* file;
    int line;
};

enum class CheckKind { Expectation, Assertion };

class Context {
public:
    static constexpr unsigned MAX_EXPECTED_WARNS = 8;
    static constexpr size_t CAPTURE_BYTES = 2048;
    static constexpr size_t DIAG_BYTES = 320;   // a diagnostic line (the soak's are long)

    // A context for a case being run by the runner: reports go to the console.
    Context(const Case& c, unsigned indent);
    // A scratch context whose reports are kept in a buffer instead (for
    // testing the framework itself). Its failures do not affect anyone.
    static Context capture(const char* name);

    bool failed() const { return m_failed; }
    bool skipped() const { return m_skipped; }
    const char* skip_reason() const { return m_skip_reason; }
    const char* name() const { return m_name; }
    const char* captured() const { return m_capture; }

    // Start a failure report; returns true so checks can be chained.
    void report_failure(CheckKind kind, const char* file, int line);
    // One '#'-prefixed diagnostic line under the case's indentation.
    void diag(const char* fmt, ...) HIMEM_PRINTF(2, 3);
    void fail(const char* file, int line, const char* fmt, ...) HIMEM_PRINTF(4, 5);
    void skip(const char* reason);

    void expect_warn(const char* site_id, unsigned hits);

    // Runner use: the declared WARN expectations.
    struct ExpectedWarn {
        const char* id;
        unsigned hits;
    };
    const ExpectedWarn* expected_warns(unsigned* count) const {
        *count = m_expected_count;
        return m_expected;
    }

private:
    Context(const char* name, unsigned indent, bool capture);
    void emit(const char* line);

    const char* m_name;
    unsigned m_indent;
    bool m_capturing;
    bool m_failed = false;
    bool m_skipped = false;
    char m_skip_reason[96] = {};
    ExpectedWarn m_expected[MAX_EXPECTED_WARNS] = {};
    unsigned m_expected_count = 0;
    char m_capture[CAPTURE_BYTES] = {};
    size_t m_capture_len = 0;
};

// Run a test body in a scratch context (framework self-tests).
void run_body(TestFn fn, Context& ctx);

struct Summary {
    unsigned passed = 0;
    unsigned failed = 0;
    unsigned skipped = 0;
    bool ok() const { return failed == 0 && passed + skipped > 0; }
};

struct Options {
    const char* filter = "*";
    unsigned stress = 1;             // ktest.stress: scale for stress tests
    unsigned timeout_s = 60;         // ktest.timeout: the watchdog's limit per case
    unsigned bench_ops = 100000;     // ktest.bench_ops: operations per benchmark pass
    unsigned bench_passes = 5;       // ktest.bench_passes: the median of this many
    unsigned soak_seconds = 10;      // ktest.soak_seconds: how long the soak runs
    bool misreport_closing = false;  // harness self-test: print a wrong closing line
};

// A subsystem's own leak check, run in each case's thread after its body,
// beside the runner's (preempt count, interrupts, migrate and pagefault
// counts, mutexes): declared with KTEST_LEAK_CHECK next to that subsystem's
// tests. A check that finds a leak fails the case with ctx.fail(), naming
// it, and repairs it if it can so the run goes on.
struct LeakCheck {
    const char* name;
    void (*check)(Context& ctx);
};

// Run every case whose "suite.case" name matches the glob `options.filter`.
Summary run(const Options& options);
// Print the matching names, one per line, and every crash test.
void list(const char* filter);
// Run the crash test `name`. Returns only if it did not crash (a failure).
void run_crash(const char* name);

// The stress scale of this run (ktest.stress, default 1).
unsigned stress_scale();
// Benchmark sizes (tests/kernel/bench.cpp).
unsigned bench_ops();
unsigned bench_passes();
// How long the soak runs (tests/kernel/soak.cpp).
unsigned soak_seconds();
// A case that runs for longer than the watchdog's limit (ktest.timeout) says
// it is still making progress: the limit counts again from now. A case that
// stops calling it is reported as making no progress, with every CPU's trace.
void keep_alive();
// A function that prints KTAP diagnostics ("# ...") about the whole run,
// called once before the closing lines (a helper's own tallies). Adding the
// same one again does nothing; at most four.
void add_closing_note(void (*note)());

// ---- value formatting for check reports ----------------------------------

struct ValueText {
    char text[64];
};

ValueText describe_signed(long long v);
ValueText describe_unsigned(unsigned long long v);
ValueText describe_pointer(const void* p);
ValueText describe_string(const char* s);

inline ValueText describe(bool v) { return describe_string(v ? "true" : "false"); }
inline ValueText describe(char v) { return describe_signed(v); }
inline ValueText describe(signed char v) { return describe_signed(v); }
inline ValueText describe(short v) { return describe_signed(v); }
inline ValueText describe(int v) { return describe_signed(v); }
inline ValueText describe(long v) { return describe_signed(v); }
inline ValueText describe(long long v) { return describe_signed(v); }
inline ValueText describe(unsigned char v) { return describe_unsigned(v); }
inline ValueText describe(unsigned short v) { return describe_unsigned(v); }
inline ValueText describe(unsigned v) { return describe_unsigned(v); }
inline ValueText describe(unsigned long v) { return describe_unsigned(v); }
inline ValueText describe(unsigned long long v) { return describe_unsigned(v); }
inline ValueText describe(decltype(nullptr)) { return describe_pointer(nullptr); }
template <typename T>
ValueText describe(T* p) { return describe_pointer(p); }
template <typename T>
    requires __is_enum(T)
ValueText describe(T v) { return describe_signed(static_cast<long long>(v)); }
template <typename T>
    requires __is_class(T) && requires(const T& t) { t.value(); }
ValueText describe(const T& v) { return describe(v.value()); }

template <typename A, typename B, typename Op>
bool check_binary(Context& ctx, CheckKind kind, const char* file, int line, const char* op,
                  const char* ta, const char* tb, const A& a, const B& b, Op cmp) {
    if (cmp(a, b))
        return true;
    ctx.report_failure(kind, file, line);
    ctx.diag("Expected %s %s %s, but", ta, op, tb);
    ctx.diag("    %s == %s", ta, describe(a).text);
    ctx.diag("    %s == %s", tb, describe(b).text);
    return false;
}

bool check_bool(Context& ctx, CheckKind kind, const char* file, int line, const char* text,
                bool value, bool expected);
bool check_str(Context& ctx, CheckKind kind, const char* file, int line, const char* ta,
               const char* tb, const char* a, const char* b, bool want_equal);

} // namespace ktest

// ---- declarations ----------------------------------------------------------

// Section entries carry an explicit alignment: GCC otherwise aligns larger
// objects to 32 bytes, leaving holes in the array the runner walks.
#define KTEST_SECTION(name) [[gnu::used, gnu::section(name), gnu::aligned(4)]]

#define KTEST_SUITE(sname, ...)                                                   \
    extern const ::ktest::Suite ktest_suite_##sname;                              \
    KTEST_SECTION("ktest_suites") const ::ktest::Suite                            \
        ktest_suite_##sname = {.name = #sname __VA_OPT__(, ) __VA_ARGS__}

#define KTEST(sname, cname)                                                       \
    static void ktest_fn_##sname##_##cname(::ktest::Context& ktest_ctx);          \
    KTEST_SECTION("ktest_cases") static const ::ktest::Case                       \
        ktest_case_##sname##_##cname = {&ktest_suite_##sname, #cname,             \
                                        ktest_fn_##sname##_##cname, __FILE__,     \
                                        __LINE__};                                \
    static void ktest_fn_##sname##_##cname([[maybe_unused]] ::ktest::Context& ktest_ctx)

// KTEST_CRASH(name, .site = "x86.stack_overflow", .frames = "inner,outer",
//             .report = "[vmalloc-guard]|error code 0x0002") { ... }
#define KTEST_CRASH(cname, ...)                                                   \
    static void ktest_crash_fn_##cname(::ktest::Context& ktest_ctx);              \
    KTEST_SECTION("ktest_crashes") static const ::ktest::CrashCase                \
        ktest_crash_##cname = {.name = #cname, .fn = ktest_crash_fn_##cname,      \
                               __VA_ARGS__, .file = __FILE__, .line = __LINE__};  \
    static void ktest_crash_fn_##cname([[maybe_unused]] ::ktest::Context& ktest_ctx)

// KTEST_LEAK_CHECK(kmap_local) { if (depth) ktest_ctx.fail(...); }
#define KTEST_LEAK_CHECK(lname)                                                   \
    static void ktest_leak_fn_##lname(::ktest::Context& ktest_ctx);               \
    KTEST_SECTION("ktest_leak_checks") static const ::ktest::LeakCheck            \
        ktest_leak_##lname = {#lname, ktest_leak_fn_##lname};                     \
    static void ktest_leak_fn_##lname([[maybe_unused]] ::ktest::Context& ktest_ctx)

// ---- checks ------------------------------------------------------------------

#define KTEST_BINARY(kind, op, a, b)                                              \
    ::ktest::check_binary(ktest_ctx, kind, __FILE__, __LINE__, #op, #a, #b, (a), (b), \
                          [](const auto& x_, const auto& y_) { return x_ op y_; })

#define KTEST_EXPECT_BINARY(op, a, b) (void)KTEST_BINARY(::ktest::CheckKind::Expectation, op, a, b)
#define KTEST_ASSERT_BINARY(op, a, b)                                             \
    do {                                                                          \
        if (!KTEST_BINARY(::ktest::CheckKind::Assertion, op, a, b))               \
            return;                                                               \
    } while (0)

#define EXPECT_EQ(a, b) KTEST_EXPECT_BINARY(==, a, b)
#define EXPECT_NE(a, b) KTEST_EXPECT_BINARY(!=, a, b)
#define EXPECT_LT(a, b) KTEST_EXPECT_BINARY(<, a, b)
#define EXPECT_LE(a, b) KTEST_EXPECT_BINARY(<=, a, b)
#define EXPECT_GT(a, b) KTEST_EXPECT_BINARY(>, a, b)
#define EXPECT_GE(a, b) KTEST_EXPECT_BINARY(>=, a, b)
#define ASSERT_EQ(a, b) KTEST_ASSERT_BINARY(==, a, b)
#define ASSERT_NE(a, b) KTEST_ASSERT_BINARY(!=, a, b)
#define ASSERT_LT(a, b) KTEST_ASSERT_BINARY(<, a, b)
#define ASSERT_LE(a, b) KTEST_ASSERT_BINARY(<=, a, b)
#define ASSERT_GT(a, b) KTEST_ASSERT_BINARY(>, a, b)
#define ASSERT_GE(a, b) KTEST_ASSERT_BINARY(>=, a, b)

#define KTEST_BOOL(kind, cond, want)                                              \
    ::ktest::check_bool(ktest_ctx, kind, __FILE__, __LINE__, #cond, !!(cond), want)
#define EXPECT_TRUE(cond) (void)KTEST_BOOL(::ktest::CheckKind::Expectation, cond, true)
#define EXPECT_FALSE(cond) (void)KTEST_BOOL(::ktest::CheckKind::Expectation, cond, false)
#define ASSERT_TRUE(cond)                                                         \
    do {                                                                          \
        if (!KTEST_BOOL(::ktest::CheckKind::Assertion, cond, true))               \
            return;                                                               \
    } while (0)
#define ASSERT_FALSE(cond)                                                        \
    do {                                                                          \
        if (!KTEST_BOOL(::ktest::CheckKind::Assertion, cond, false))              \
            return;                                                               \
    } while (0)

#define EXPECT_NULL(p) EXPECT_EQ(static_cast<const void*>(p), nullptr)
#define EXPECT_NOT_NULL(p) EXPECT_NE(static_cast<const void*>(p), nullptr)
#define ASSERT_NULL(p) ASSERT_EQ(static_cast<const void*>(p), nullptr)
#define ASSERT_NOT_NULL(p) ASSERT_NE(static_cast<const void*>(p), nullptr)

#define KTEST_STR(kind, a, b, eq)                                                 \
    ::ktest::check_str(ktest_ctx, kind, __FILE__, __LINE__, #a, #b, (a), (b), eq)
#define EXPECT_STREQ(a, b) (void)KTEST_STR(::ktest::CheckKind::Expectation, a, b, true)
#define EXPECT_STRNE(a, b) (void)KTEST_STR(::ktest::CheckKind::Expectation, a, b, false)
#define ASSERT_STREQ(a, b)                                                        \
    do {                                                                          \
        if (!KTEST_STR(::ktest::CheckKind::Assertion, a, b, true))                \
            return;                                                               \
    } while (0)

#define KTEST_FAIL(...) ktest_ctx.fail(__FILE__, __LINE__, __VA_ARGS__)

#define KTEST_SKIP(reason)                                                        \
    do {                                                                          \
        ktest_ctx.skip(reason);                                                   \
        return;                                                                   \
    } while (0)

#define KTEST_EXPECT_WARN(site_id, hits) ktest_ctx.expect_warn(site_id, hits)
