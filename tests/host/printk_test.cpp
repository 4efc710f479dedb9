// The log ring behind `himem dmesg`: what reached the console, in order,
// the last LOG_BUF_SIZE bytes of it.
#include <gtest/gtest.h>

#include <string>

#include "lib/printk.h"
#include "tests/host/fake_platform.h"

namespace {

std::string tail() {
    static char out[lib::LOG_BUF_SIZE + 1];
    const size_t n = lib::log_tail(out, sizeof(out));
    return std::string(out, n);
}

TEST(LogRing, HoldsWhatTheConsoleGotInOrder) {
    const std::string before = fake_platform::console();
    printk("ring %d\n", 1);
    printk("ring %s\n", "two");
    const std::string printed = fake_platform::console().substr(before.size());
    EXPECT_EQ(printed, "ring 1\nring two\n");
    const std::string t = tail();
    ASSERT_GE(t.size(), printed.size());
    EXPECT_EQ(t.substr(t.size() - printed.size()), printed);
}

TEST(LogRing, KeepsTheLastBytesWhenItWraps) {
    std::string expected;
    for (int i = 0; i < 3000; ++i) {
        printk("line %05d\n", i);
        expected += "line " + std::string(5 - std::to_string(i).size(), '0') + std::to_string(i) + "\n";
    }
    const std::string t = tail();
    EXPECT_EQ(t.size(), lib::LOG_BUF_SIZE);
    EXPECT_EQ(t, expected.substr(expected.size() - lib::LOG_BUF_SIZE));
    EXPECT_GE(lib::log_ring.written, expected.size());
}

TEST(LogRing, TailIsBoundedByTheCallersBuffer) {
    printk("abcdef\n");
    char small[4];
    EXPECT_EQ(lib::log_tail(small, sizeof(small)), 3u);
    EXPECT_STREQ(small, "ef\n");
}

} // namespace
