#include "lib/string.h"

#include <cstring>

#include <gtest/gtest.h>

TEST(String, MemFunctionsMatchLibc) {
    unsigned char a[64], b[64];
    for (int i = 0; i < 64; ++i)
        a[i] = static_cast<unsigned char>(i * 7);
    for (size_t off = 0; off < 4; ++off) {
        for (size_t n = 0; n < 40; ++n) {
            std::memset(b, 0xee, sizeof(b));
            lib::memcpy(b + off, a + 1, n);
            EXPECT_EQ(std::memcmp(b + off, a + 1, n), 0);
            EXPECT_EQ(b[off + n], 0xee);
        }
    }
    lib::memset(b + 3, 0x5a, 17);
    for (int i = 3; i < 20; ++i)
        EXPECT_EQ(b[i], 0x5a);
    EXPECT_LT(lib::memcmp("abc", "abd", 3), 0);
    EXPECT_GT(lib::memcmp("abd", "abc", 3), 0);
}

TEST(String, MemmoveOverlaps) {
    char s[] = "0123456789";
    lib::memmove(s + 2, s, 5);
    EXPECT_STREQ(s, "0101234789");
    char t[] = "0123456789";
    lib::memmove(t, t + 3, 5);
    EXPECT_STREQ(t, "3456756789");
}

TEST(String, Strings) {
    EXPECT_EQ(lib::strlen("hello"), 5u);
    EXPECT_EQ(lib::strnlen("hello", 3), 3u);
    EXPECT_EQ(lib::strcmp("a", "b") < 0, true);
    EXPECT_EQ(lib::strncmp("abcX", "abcY", 3), 0);
    EXPECT_STREQ(lib::strchr("a=b", '='), "=b");
    EXPECT_EQ(lib::strchr("abc", 'z'), nullptr);
    EXPECT_STREQ(lib::strstr("kmap_local.unmap", "unmap"), "unmap");
    char small[4];
    EXPECT_EQ(lib::strlcpy(small, "abcdef", sizeof(small)), 6u);
    EXPECT_STREQ(small, "abc");
}

TEST(String, Glob) {
    EXPECT_TRUE(lib::glob_match("*", "anything.at_all"));
    EXPECT_TRUE(lib::glob_match("format.*", "format.widths"));
    EXPECT_FALSE(lib::glob_match("format.*", "formats.widths"));
    EXPECT_TRUE(lib::glob_match("*.k?", "kmap.k3"));
    EXPECT_TRUE(lib::glob_match("a*b*c", "aXXbYYbc"));
    EXPECT_FALSE(lib::glob_match("a*b*c", "aXXbYYb"));
    EXPECT_FALSE(lib::glob_match("", "x"));
    EXPECT_TRUE(lib::glob_match("", ""));
}
