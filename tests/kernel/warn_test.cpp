// WARN counting in the kernel: every hit is counted, a once-site prints once
// but still counts, and the harness's expected-WARN capture sees them by id.
#include "lib/bug.h"
#include "tests/ktest/ktest.h"

KTEST_SUITE(warn);

namespace {

[[gnu::noinline]] bool warn_every_time(int v) { return WARN("test.warn.every", v > 0, "v=%d", v); }
[[gnu::noinline]] bool warn_once(int v) { return WARN_ONCE("test.warn.once", v > 0, "v=%d", v); }
[[gnu::noinline]] void plain_warn_on(bool c) { WARN_ON(c); }

} // namespace

KTEST(warn, counts_every_hit) {
    KTEST_EXPECT_WARN("test.warn.every", 3);
    const u32 before = warn::hits("test.warn.every");
    EXPECT_FALSE(warn_every_time(0));
    EXPECT_TRUE(warn_every_time(1));
    EXPECT_TRUE(warn_every_time(2));
    EXPECT_TRUE(warn_every_time(3));
    EXPECT_EQ(warn::hits("test.warn.every") - before, 3u);
}

KTEST(warn, once_site_counts_repeats) {
    KTEST_EXPECT_WARN("test.warn.once", 4);
    const u32 before = warn::hits("test.warn.once");
    for (int i = 1; i <= 4; ++i)
        EXPECT_TRUE(warn_once(i));
    EXPECT_EQ(warn::hits("test.warn.once") - before, 4u);
}

KTEST(warn, warn_on_is_named_after_its_function) {
    KTEST_EXPECT_WARN("plain_warn_on", 1);
    plain_warn_on(false);
    plain_warn_on(true);
    EXPECT_EQ(warn::hits("plain_warn_on") >= 1, true);
}
