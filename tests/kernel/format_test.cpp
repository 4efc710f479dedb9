// The formatter on the real target: i686 varargs, 64-bit values through
// libgcc's division, pointer width.
#include "lib/format.h"
#include "tests/ktest/ktest.h"

KTEST_SUITE(format);

namespace {
struct Buf {
    char text[128];
};

template <typename... Args>
Buf fmt(const char* f, Args... args) {
    Buf b;
    lib::format(b.text, sizeof(b.text), f, args...);
    return b;
}
} // namespace

KTEST(format, widths_and_padding) {
    EXPECT_STREQ(fmt("[%5d]", 42).text, "[   42]");
    EXPECT_STREQ(fmt("[%-5d]", 42).text, "[42   ]");
    EXPECT_STREQ(fmt("[%05d]", -42).text, "[-0042]");
    EXPECT_STREQ(fmt("[%*d]", 4, 7).text, "[   7]");
    EXPECT_STREQ(fmt("[%.3d]", 5).text, "[005]");
    EXPECT_STREQ(fmt("[%8s|%-4s]", "ab", "c").text, "[      ab|c   ]");
}

KTEST(format, signed_and_unsigned) {
    EXPECT_STREQ(fmt("%d %i", -2147483647 - 1, 2147483647).text, "-2147483648 2147483647");
    EXPECT_STREQ(fmt("%u", 4294967295u).text, "4294967295");
    EXPECT_STREQ(fmt("%+d % d", 5, 5).text, "+5  5");
    EXPECT_STREQ(fmt("%hhd %hu", 300, 70000).text, "44 4464");
}

KTEST(format, hex_and_64_bit) {
    EXPECT_STREQ(fmt("%x %X %#x %#o", 0xbeefu, 0xbeefu, 255u, 8u).text, "beef BEEF 0xff 010");
    EXPECT_STREQ(fmt("%llu", 18446744073709551615ull).text, "18446744073709551615");
    EXPECT_STREQ(fmt("%lld", -9223372036854775807ll - 1).text, "-9223372036854775808");
    EXPECT_STREQ(fmt("%llx", 0x123456789abcdefull).text, "123456789abcdef");
    EXPECT_STREQ(fmt("%#011llx", 0x140000000ull).text, "0x140000000");
}

KTEST(format, pointers_and_strings) {
    EXPECT_STREQ(fmt("%p", reinterpret_cast<void*>(0xc0100000u)).text, "0xc0100000");
    EXPECT_STREQ(fmt("%p", static_cast<void*>(nullptr)).text, "0x00000000");
    const char* volatile null_string = nullptr;   // hidden from -Wformat's null check
    EXPECT_STREQ(fmt("%s", null_string).text, "(null)");
    EXPECT_STREQ(fmt("%.2s|%c|%%", "abc", 'z').text, "ab|z|%");
}

KTEST(format, truncation_reports_full_length) {
    char small[6];
    EXPECT_EQ(lib::format(small, sizeof(small), "%s", "0123456789"), size_t{10});
    EXPECT_STREQ(small, "01234");
}
