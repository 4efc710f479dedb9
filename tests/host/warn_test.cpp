// WARN counting with the platform faked: each hit is counted, a once-site
// prints only its first hit but counts all of them, ids aggregate across
// sites, and the observer sees every hit.
#include "lib/bug.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/host/fake_platform.h"

namespace {

bool warn_a(int v) { return WARN("host.a", v != 0, "a=%d", v); }
bool warn_a_elsewhere(int v) { return WARN("host.a", v != 0, "other a=%d", v); }
bool warn_once(int v) { return WARN_ONCE("host.once", v != 0, "once=%d", v); }
bool plain(bool c) { return WARN_ON(c); }

size_t count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

unsigned observed = 0;
void observe(const WarnSite&) { ++observed; }

} // namespace

TEST(Warn, CountsEveryHitAndPrintsEach) {
    fake_platform::reset();
    const u32 before = warn::hits("host.a");
    EXPECT_FALSE(warn_a(0));
    EXPECT_TRUE(warn_a(1));
    EXPECT_TRUE(warn_a(2));
    EXPECT_EQ(warn::hits("host.a") - before, 2u);
    EXPECT_EQ(count(fake_platform::console(), "[site host.a]"), 2u);
    EXPECT_EQ(fake_platform::dump_stack_calls(), 2u);
    EXPECT_NE(fake_platform::console().find("a=2"), std::string::npos);
}

TEST(Warn, OnceSitePrintsOnceButCountsAll) {
    fake_platform::reset();
    const u32 before = warn::hits("host.once");
    for (int i = 1; i <= 5; ++i)
        EXPECT_TRUE(warn_once(i));
    EXPECT_EQ(warn::hits("host.once") - before, 5u);
    // Printed only if this test is the first to hit the site in this process.
    EXPECT_LE(count(fake_platform::console(), "[site host.once]"), 1u);
    EXPECT_EQ(count(fake_platform::console(), "once=2"), 0u);
}

TEST(Warn, IdsAggregateAcrossSites) {
    fake_platform::reset();
    const u32 before = warn::hits("host.a");
    warn_a(1);
    warn_a_elsewhere(1);
    EXPECT_EQ(warn::hits("host.a") - before, 2u);
    unsigned sites_with_id = 0;
    warn::for_each_site([&](const WarnSite& s) {
        if (std::string(s.id) == "host.a")
            ++sites_with_id;
    });
    EXPECT_EQ(sites_with_id, 2u);
}

TEST(Warn, WarnOnIsNamedAfterItsFunction) {
    fake_platform::reset();
    EXPECT_TRUE(plain(true));
    EXPECT_GE(warn::hits("plain"), 1u);
    EXPECT_NE(fake_platform::console().find("WARN_ON(c)"), std::string::npos);
}

TEST(Warn, ObserverSeesEveryHit) {
    fake_platform::reset();
    observed = 0;
    warn::set_observer(observe);
    warn_once(1);
    warn_once(1);
    warn_a(1);
    warn::set_observer(nullptr);
    warn_a(1);
    EXPECT_EQ(observed, 3u);
}

TEST(Warn, UnhitSitesAreNotEnrolled) {
    EXPECT_EQ(warn::hits("host.never"), 0u);
}
