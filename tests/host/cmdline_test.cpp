#include "lib/cmdline.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

struct Parsed {
    char filter[cmdline::MAX_VALUE + 1] = "*";
    char tiny[8] = "dflt";
    bool list = false;
    u64 mem = 0;
    u64 count = 7;
    bool filter_seen = false;
    cmdline::SizeAtList ranges;
    std::vector<std::string> messages;
    cmdline::Result result;
};

void collect(void* ctx, const char* message) {
    static_cast<Parsed*>(ctx)->messages.emplace_back(message);
}

Parsed parse(const std::string& line, bool skip_first = false, bool truncated = false) {
    Parsed p;
    const cmdline::Param table[] = {
        {"ktest.filter", cmdline::Kind::String, p.filter, sizeof(p.filter), &p.filter_seen},
        {"tiny", cmdline::Kind::String, p.tiny, sizeof(p.tiny)},
        {"ktest.list", cmdline::Kind::Flag, &p.list},
        {"mem", cmdline::Kind::Size, &p.mem},
        {"count", cmdline::Kind::Uint, &p.count},
        {"range", cmdline::Kind::SizeAt, &p.ranges},
    };
    p.result = cmdline::parse(line.c_str(), table, std::size(table), collect, &p, skip_first,
                              truncated);
    return p;
}

bool said(const Parsed& p, const std::string& needle) {
    for (const auto& m : p.messages)
        if (m.find(needle) != std::string::npos)
            return true;
    return false;
}

} // namespace

TEST(Cmdline, KeyValueAndFlags) {
    const Parsed p = parse("ktest.filter=kmap.* ktest.list mem=512M count=0x10");
    EXPECT_STREQ(p.filter, "kmap.*");
    EXPECT_TRUE(p.filter_seen);
    EXPECT_TRUE(p.list);
    EXPECT_EQ(p.mem, 512ull << 20);
    EXPECT_EQ(p.count, 16u);
    EXPECT_EQ(p.result.accepted, 4u);
    EXPECT_EQ(p.result.rejected, 0u);
    EXPECT_TRUE(p.messages.empty());
}

TEST(Cmdline, SkipsLoaderImagePath) {
    Parsed p = parse("/boot/himem.elf ktest.list", true);
    EXPECT_TRUE(p.list);
    EXPECT_TRUE(p.messages.empty());
    p = parse("himem.elf ktest.list", true);          // QEMU -kernel with a bare name
    EXPECT_TRUE(p.list);
    EXPECT_TRUE(p.messages.empty());
    p = parse("ktest.filter=a/b ktest.list", true);   // GRUB 2: arguments only
    EXPECT_STREQ(p.filter, "a/b");
    EXPECT_TRUE(p.list);
    p = parse("bogus ktest.list", true);              // not a path: reported
    EXPECT_TRUE(said(p, "unknown parameter 'bogus'"));
}

TEST(Cmdline, QuotesProtectBlanks) {
    const Parsed p = parse("ktest.filter=\"a b\"  \t ktest.list");
    EXPECT_STREQ(p.filter, "a b");
    EXPECT_TRUE(p.list);
}

TEST(Cmdline, UnknownKeyIsReportedNotFatal) {
    const Parsed p = parse("frobnicate=1 ktest.list bogus");
    EXPECT_TRUE(p.list);
    EXPECT_EQ(p.result.rejected, 2u);
    EXPECT_TRUE(said(p, "unknown parameter 'frobnicate'"));
    EXPECT_TRUE(said(p, "unknown parameter 'bogus'"));
}

TEST(Cmdline, EmptyValueKeepsDefault) {
    const Parsed p = parse("ktest.filter=");
    EXPECT_STREQ(p.filter, "*");
    EXPECT_FALSE(p.filter_seen);
    EXPECT_TRUE(said(p, "ktest.filter has an empty value, default kept"));
}

TEST(Cmdline, MalformedArguments) {
    const Parsed p = parse("ktest.list=yes ktest.filter =x mem=12Q count=99999999999999999999999 \"x");
    EXPECT_FALSE(p.list);
    EXPECT_STREQ(p.filter, "*");
    EXPECT_EQ(p.mem, 0u);
    EXPECT_EQ(p.count, 7u);
    EXPECT_EQ(p.result.accepted, 0u);
    EXPECT_TRUE(said(p, "ktest.list is a flag and takes no value"));
    EXPECT_TRUE(said(p, "ktest.filter needs a value"));
    EXPECT_TRUE(said(p, "empty parameter name"));
    EXPECT_TRUE(said(p, "mem: '12Q' is not a valid size"));
    EXPECT_TRUE(said(p, "count: '99999999999999999999999' is not a valid number"));
    EXPECT_TRUE(said(p, "unterminated quote"));
}

TEST(Cmdline, OverlongValueIsRejected) {
    const Parsed p = parse("ktest.filter=" + std::string(300, 'a') + " ktest.list");
    EXPECT_STREQ(p.filter, "*");
    EXPECT_TRUE(p.list);
    EXPECT_TRUE(said(p, "ktest.filter: value of 300 bytes is longer than 255"));
}

TEST(Cmdline, OverlongLineIsCutAndSaysSo) {
    // A 3,000-character argument runs past MAX_LINE: it is the cut-off last
    // word, dropped with a message; what came before it still counts.
    const Parsed p = parse("ktest.list ktest.filter=" + std::string(3000, 'a') + " count=3");
    EXPECT_STREQ(p.filter, "*");
    EXPECT_TRUE(p.list);
    EXPECT_EQ(p.count, 7u);
    EXPECT_TRUE(said(p, "command line longer than 2048 bytes"));
    EXPECT_TRUE(said(p, "dropped 'ktest.filter=aaaa"));
}

TEST(Cmdline, ValueLongerThanItsBuffer) {
    const Parsed p = parse("tiny=12345678");
    EXPECT_STREQ(p.tiny, "dflt");
    EXPECT_TRUE(said(p, "tiny: value of 8 bytes is longer than 7"));
}

TEST(Cmdline, TruncatedLineDropsItsLastWord) {
    const Parsed p = parse("ktest.list ktest.filter=kma", false, true);
    EXPECT_TRUE(p.list);
    EXPECT_STREQ(p.filter, "*");
    EXPECT_TRUE(said(p, "dropped 'ktest.filter=kma'"));
}

TEST(Cmdline, LongKeyIsShortenedInMessages) {
    const Parsed p = parse(std::string(500, 'k') + "=1");
    ASSERT_EQ(p.messages.size(), 1u);
    EXPECT_LT(p.messages[0].size(), 120u);
    EXPECT_TRUE(said(p, "..."));
}

TEST(Cmdline, SizeAndUintParsers) {
    u64 v = 0;
    EXPECT_TRUE(cmdline::parse_size("4096", 4, v));
    EXPECT_EQ(v, 4096u);
    EXPECT_TRUE(cmdline::parse_size("3583M", 5, v));
    EXPECT_EQ(v, 3583ull << 20);
    EXPECT_TRUE(cmdline::parse_size("5g", 2, v));
    EXPECT_EQ(v, 5ull << 30);
    EXPECT_FALSE(cmdline::parse_size("", 0, v));
    EXPECT_FALSE(cmdline::parse_size("M", 1, v));
    EXPECT_FALSE(cmdline::parse_size("17179869184G", 12, v));   // overflows 64 bits
    EXPECT_TRUE(cmdline::parse_uint("0xffffffffffffffff", 18, v));
    EXPECT_EQ(v, ~0ull);
    EXPECT_FALSE(cmdline::parse_uint("0x1ffffffffffffffff", 19, v));
    EXPECT_FALSE(cmdline::parse_uint("0x", 2, v));
    EXPECT_FALSE(cmdline::parse_uint("-1", 2, v));
}

TEST(Cmdline, SizeAtKeepsEveryValueInOrder) {
    const Parsed p = parse("range=16M@0x60000000 mem=1G range=0@4096");
    ASSERT_EQ(p.ranges.count, 2u);
    EXPECT_EQ(p.ranges.items[0].size, 16ull << 20);
    EXPECT_EQ(p.ranges.items[0].addr, 0x60000000u);
    EXPECT_EQ(p.ranges.items[1].size, 0u);
    EXPECT_EQ(p.ranges.items[1].addr, 4096u);
    EXPECT_EQ(p.result.accepted, 3u);
    EXPECT_TRUE(p.messages.empty());
}

TEST(Cmdline, MalformedSizeAtIsReportedAndNotKept) {
    for (const char* bad : {"range=16M", "range=@0x1000", "range=16M@", "range=16Q@0x1000",
                            "range=1@2@3", "range=16M@4K", "range=16M 0x1000"}) {
        const Parsed p = parse(bad);
        EXPECT_EQ(p.ranges.count, 0u) << bad;
        EXPECT_TRUE(said(p, "is not a valid SIZE@ADDR")) << bad;
    }
}

TEST(Cmdline, SizeAtBeyondCapacityIsReported) {
    std::string line;
    for (unsigned i = 0; i <= cmdline::SizeAtList::CAPACITY; ++i)
        line += "range=4K@" + std::to_string(i * 4096) + " ";
    const Parsed p = parse(line);
    EXPECT_EQ(p.ranges.count, cmdline::SizeAtList::CAPACITY);
    EXPECT_EQ(p.ranges.items[cmdline::SizeAtList::CAPACITY - 1].addr,
              (cmdline::SizeAtList::CAPACITY - 1) * 4096u);
    ASSERT_EQ(p.messages.size(), 1u);
    EXPECT_TRUE(said(p, "range: more than 8 values"));
}

TEST(Cmdline, SizeAtParser) {
    cmdline::SizeAt v;
    EXPECT_TRUE(cmdline::parse_size_at("4K@0x1000", 9, v));
    EXPECT_EQ(v.size, 4096u);
    EXPECT_EQ(v.addr, 0x1000u);
    EXPECT_TRUE(cmdline::parse_size_at("8G@17179869184", 14, v));
    EXPECT_EQ(v.size, 8ull << 30);
    EXPECT_EQ(v.addr, 16ull << 30);
    // Only `len` characters count: the '@' beyond them is not seen.
    EXPECT_FALSE(cmdline::parse_size_at("4K@0x1000", 2, v));
    EXPECT_FALSE(cmdline::parse_size_at("@", 1, v));
}

TEST(Cmdline, NullAndEmptyLines) {
    Parsed p = parse("");
    EXPECT_EQ(p.result.accepted + p.result.rejected, 0u);
    p = parse("    ");
    EXPECT_TRUE(p.messages.empty());
    EXPECT_EQ(cmdline::parse(nullptr, nullptr, 0, nullptr, nullptr).accepted, 0u);
}
