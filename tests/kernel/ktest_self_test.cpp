// The framework's own rules: EXPECT records and continues, ASSERT records and
// returns (with destructors run), SKIP ends the case with a reason, reports
// name file:line and both values. Each inner body runs in a capture context,
// so its failures are data for this test, not failures of the run.
#include "lib/string.h"
#include "tests/ktest/ktest.h"

KTEST_SUITE(ktest_self);

namespace {

int steps = 0;
bool destructor_ran = false;

struct SetOnDestroy {
    ~SetOnDestroy() { destructor_ran = true; }
};

int assert_line = 0;
int expect_line = 0;

void body_expect_continues(ktest::Context& ktest_ctx) {
    steps = 1;
    expect_line = __LINE__ + 1;
    EXPECT_EQ(1 + 1, 3);
    steps = 2;
    EXPECT_TRUE(steps == 2);
    steps = 3;
}

void body_assert_returns(ktest::Context& ktest_ctx) {
    SetOnDestroy guard;
    steps = 1;
    const int seven = 7;
    assert_line = __LINE__ + 1;
    ASSERT_EQ(seven, 8);
    steps = 2;   // must not be reached
}

void body_skips(ktest::Context& ktest_ctx) {
    steps = 1;
    KTEST_SKIP("no second CPU");
    steps = 2;
}

void body_passes(ktest::Context& ktest_ctx) {
    EXPECT_EQ(2, 2);
    EXPECT_STREQ("abc", "abc");
    ASSERT_NE(1, 2);
    steps = 9;
}

} // namespace

KTEST(ktest_self, expect_records_and_continues) {
    steps = 0;
    ktest::Context inner = ktest::Context::capture("inner");
    ktest::run_body(body_expect_continues, inner);
    EXPECT_TRUE(inner.failed());
    EXPECT_EQ(steps, 3);
    char where[128];
    lib::format(where, sizeof(where), "# inner: EXPECTATION FAILED at %s:%d", __FILE__, expect_line);
    EXPECT_NOT_NULL(lib::strstr(inner.captured(), where));
    EXPECT_NOT_NULL(lib::strstr(inner.captured(), "# Expected 1 + 1 == 3, but"));
    EXPECT_NOT_NULL(lib::strstr(inner.captured(), "1 + 1 == 2 (0x2)"));
    EXPECT_NOT_NULL(lib::strstr(inner.captured(), "3 == 3 (0x3)"));
}

KTEST(ktest_self, assert_returns_and_runs_destructors) {
    steps = 0;
    destructor_ran = false;
    ktest::Context inner = ktest::Context::capture("inner");
    ktest::run_body(body_assert_returns, inner);
    EXPECT_TRUE(inner.failed());
    EXPECT_EQ(steps, 1);
    EXPECT_TRUE(destructor_ran);
    char where[128];
    lib::format(where, sizeof(where), "# inner: ASSERTION FAILED at %s:%d", __FILE__, assert_line);
    EXPECT_NOT_NULL(lib::strstr(inner.captured(), where));
    EXPECT_NOT_NULL(lib::strstr(inner.captured(), "seven == 7 (0x7)"));
    EXPECT_NOT_NULL(lib::strstr(inner.captured(), "8 == 8 (0x8)"));
}

KTEST(ktest_self, skip_ends_the_case_with_a_reason) {
    steps = 0;
    ktest::Context inner = ktest::Context::capture("inner");
    ktest::run_body(body_skips, inner);
    EXPECT_TRUE(inner.skipped());
    EXPECT_FALSE(inner.failed());
    EXPECT_EQ(steps, 1);
    EXPECT_STREQ(inner.skip_reason(), "no second CPU");
}

KTEST(ktest_self, passing_body_reports_nothing) {
    steps = 0;
    ktest::Context inner = ktest::Context::capture("inner");
    ktest::run_body(body_passes, inner);
    EXPECT_FALSE(inner.failed());
    EXPECT_FALSE(inner.skipped());
    EXPECT_EQ(steps, 9);
    EXPECT_STREQ(inner.captured(), "");
}

KTEST(ktest_self, skip_reaches_the_runner) {
    KTEST_SKIP("demonstrates a SKIP line in the KTAP output");
}
