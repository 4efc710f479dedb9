// The audit's rule table (lib/kmap_audit_rules.h), event by event.
#include "lib/kmap_audit_rules.h"

#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

using namespace kmap_audit;

namespace {

u32 bits(std::initializer_list<Event> events) {
    u32 seen = 0;
    for (Event e : events)
        seen |= event_bit(e);
    return seen;
}

} // namespace

TEST(KmapAuditRules, NothingSeenConvertsAsIs) {
    EXPECT_EQ(verdict_of(0), Verdict::ConvertAsIs);
}

TEST(KmapAuditRules, EachPreemptionEventKeepsPreemptDisable) {
    for (Event e : {Event::PercpuAccess, Event::InAtomicAsked, Event::PreemptibleAsked}) {
        EXPECT_EQ(dependency_of(e), Dependency::Preemption) << event_name(e);
        EXPECT_EQ(verdict_of(event_bit(e)), Verdict::KeepPreemptDisable) << event_name(e);
    }
}

TEST(KmapAuditRules, EachPageFaultEventKeepsPagefaultDisable) {
    for (Event e : {Event::PagefaultAsked, Event::InatomicCopy, Event::NofaultAccess,
                    Event::FixupFaultsOff}) {
        EXPECT_EQ(dependency_of(e), Dependency::PageFaults) << event_name(e);
        EXPECT_EQ(verdict_of(event_bit(e)), Verdict::KeepPagefaultDisable) << event_name(e);
    }
}

TEST(KmapAuditRules, BothDependenciesKeepKmapAtomic) {
    EXPECT_EQ(verdict_of(bits({Event::PercpuAccess, Event::InatomicCopy})), Verdict::KeepKmapAtomic);
    EXPECT_EQ(verdict_of(bits({Event::InAtomicAsked, Event::PagefaultAsked})), Verdict::KeepKmapAtomic);
}

TEST(KmapAuditRules, SleepingAndPreemptionNeverHoldASectionBack) {
    const u32 noise = bits({Event::MaySleep, Event::FaultResolved, Event::Slept, Event::Preempted,
                            Event::Migrated});
    EXPECT_EQ(verdict_of(noise), Verdict::ConvertAsIs);
    EXPECT_EQ(verdict_of(noise | event_bit(Event::PercpuAccess)), Verdict::KeepPreemptDisable);
    EXPECT_EQ(verdict_of(noise | event_bit(Event::NofaultAccess)), Verdict::KeepPagefaultDisable);
    EXPECT_EQ(dependency_of(Event::MaySleep), Dependency::HiddenBug);
    EXPECT_EQ(dependency_of(Event::Preempted), Dependency::Prevented);
}

TEST(KmapAuditRules, EveryEventHasItsOwnName) {
    std::set<std::string> names;
    for (unsigned i = 0; i < NR_EVENTS; ++i) {
        const char* n = event_name(static_cast<Event>(i));
        EXPECT_STRNE(n, "?");
        EXPECT_EQ(std::strchr(n, ' '), nullptr) << n;   // one word: the report's parser splits on blanks
        names.insert(n);
    }
    EXPECT_EQ(names.size(), NR_EVENTS);
    EXPECT_STREQ(event_name(static_cast<Event>(NR_EVENTS)), "?");
}

TEST(KmapAuditRules, VerdictTexts) {
    EXPECT_STREQ(verdict_text(Verdict::ConvertAsIs), "convert as is");
    EXPECT_STREQ(verdict_text(Verdict::KeepPreemptDisable), "convert, keeping preempt_disable()");
    EXPECT_STREQ(verdict_text(Verdict::KeepPagefaultDisable), "convert, keeping pagefault_disable()");
    EXPECT_STREQ(verdict_text(Verdict::KeepKmapAtomic), "keep kmap_atomic");
}
