#include "lib/format.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace {

template <typename... Args>
std::string fmt(const char* f, Args... args) {
    char buf[256];
    lib::format(buf, sizeof(buf), f, args...);
    return buf;
}

// The host's snprintf is the reference for every conversion both support.
template <typename... Args>
void same_as_libc(const char* f, Args... args) {
    char want[256];
    std::snprintf(want, sizeof(want), f, args...);
    EXPECT_EQ(fmt(f, args...), std::string(want)) << "format: " << f;
}

} // namespace

TEST(Format, WidthsAndPadding) {
    same_as_libc("[%5d]", 42);
    same_as_libc("[%-5d]", 42);
    same_as_libc("[%05d]", -42);
    same_as_libc("[%*d]", 4, 7);
    same_as_libc("[%*d]", -4, 7);
    same_as_libc("[%.3d]", 5);
    same_as_libc("[%8.3d]", -5);
    same_as_libc("[%-08d]", 3);
    same_as_libc("[%8s|%-4s|%.2s]", "ab", "c", "xyz");
    same_as_libc("[%5c|%-3c]", 'a', 'b');
}

TEST(Format, Negatives) {
    same_as_libc("%d %i", -2147483647 - 1, 2147483647);
    same_as_libc("%+d % d %+d", 5, 5, -5);
    same_as_libc("%hhd %hd", -129, -32769);
    same_as_libc("%ld", -1L);
    same_as_libc("%lld", -9223372036854775807LL - 1);
}

TEST(Format, SixtyFourBit) {
    same_as_libc("%llu", 18446744073709551615ULL);
    same_as_libc("%llx %llX", 0x123456789abcdefULL, 0xfedcba9876543210ULL);
    same_as_libc("%#llx %#llo", 0x140000000ULL, 01234567012345ULL);
    same_as_libc("%020llu", 12345678901234ULL);
    same_as_libc("%zu %zx", size_t{4096}, size_t{4096});
}

TEST(Format, HexOctalAlternateForms) {
    same_as_libc("%x %X %#x %#X %#o %o", 0xbeefu, 0xbeefu, 255u, 255u, 8u, 8u);
    same_as_libc("%#x %#o", 0u, 0u);
    same_as_libc("%#010x", 0x1234u);
    same_as_libc("%.0d|%.0x", 0, 0u);
}

TEST(Format, Pointers) {
    // Always 0x and the full pointer width, unlike glibc's %p.
    const std::string digits(sizeof(void*) * 2 - 1, '0');
    EXPECT_EQ(fmt("%p", reinterpret_cast<void*>(0x1)), "0x" + digits + "1");
    EXPECT_EQ(fmt("%p", static_cast<void*>(nullptr)), "0x" + digits + "0");
    const std::string wide = fmt("[%-24p]", reinterpret_cast<void*>(0x10));
    EXPECT_EQ(wide.size(), 26u);
    EXPECT_EQ(wide.back(), ']');
}

TEST(Format, NullStringAndPercent) {
    const char* null_string = nullptr;
    EXPECT_EQ(fmt("%s|%%", null_string), "(null)|%");
}

TEST(Format, UnknownConversionIsShownNotConsumed) {
    EXPECT_EQ(fmt("a%qb%d", 7), "a%qb7");
    EXPECT_EQ(fmt("trailing %"), "trailing %");
}

TEST(Format, TruncationKeepsTerminatorAndReportsFullLength) {
    char small[6];
    EXPECT_EQ(lib::format(small, sizeof(small), "%s", "0123456789"), 10u);
    EXPECT_STREQ(small, "01234");
    char none[1] = {'x'};
    EXPECT_EQ(lib::format(none, 1, "%d", 12345), 5u);
    EXPECT_EQ(none[0], '\0');
    EXPECT_EQ(lib::format(nullptr, 0, "%d", 12345), 5u);
}
