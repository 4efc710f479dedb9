// The symbolizer over a hand-built table in the kernel's format.
#include "lib/ksym.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

std::vector<u8> build(const std::vector<std::tuple<u32, u32, std::string>>& syms) {
    std::vector<u8> blob(sizeof(ksym::Table) + syms.size() * sizeof(ksym::Entry));
    std::string names;
    auto* t = reinterpret_cast<ksym::Table*>(blob.data());
    t->magic = ksym::TABLE_MAGIC;
    t->count = static_cast<u32>(syms.size());
    auto* e = reinterpret_cast<ksym::Entry*>(t + 1);
    for (size_t i = 0; i < syms.size(); ++i) {
        e[i] = {std::get<0>(syms[i]), std::get<1>(syms[i]), static_cast<u32>(names.size())};
        names += std::get<2>(syms[i]);
        names += '\0';
    }
    blob.insert(blob.end(), names.begin(), names.end());
    return blob;
}

} // namespace

TEST(Ksym, ResolvesFunctionAndOffset) {
    auto blob = build({{0x1000, 0x20, "alpha"}, {0x1020, 0x10, "beta"}, {0x2000, 0x100, "gamma"}});
    ksym::set_table(reinterpret_cast<ksym::Table*>(blob.data()), blob.size());
    u32 off = 0, size = 0;
    ASSERT_NE(ksym::lookup(0x1024, &off, &size), nullptr);
    EXPECT_STREQ(ksym::lookup(0x1024, &off, &size), "beta");
    EXPECT_EQ(off, 4u);
    EXPECT_EQ(size, 0x10u);
    EXPECT_STREQ(ksym::lookup(0x1000, &off, nullptr), "alpha");
    EXPECT_EQ(off, 0u);
    EXPECT_STREQ(ksym::lookup(0x20ff, &off, nullptr), "gamma");
    EXPECT_EQ(ksym::address_of("gamma"), 0x2000u);
    EXPECT_EQ(ksym::address_of("delta"), 0u);
}

TEST(Ksym, GapsAndEdgesResolveToNothing) {
    auto blob = build({{0x1000, 0x20, "alpha"}, {0x2000, 0x100, "gamma"}});
    ksym::set_table(reinterpret_cast<ksym::Table*>(blob.data()), blob.size());
    EXPECT_EQ(ksym::lookup(0xfff, nullptr, nullptr), nullptr);
    EXPECT_EQ(ksym::lookup(0x1020, nullptr, nullptr), nullptr);   // in the gap
    EXPECT_EQ(ksym::lookup(0x2100, nullptr, nullptr), nullptr);   // past the end
}

TEST(Ksym, MalformedTablesAreRefused) {
    auto blob = build({{0x1000, 0x20, "alpha"}});
    auto* t = reinterpret_cast<ksym::Table*>(blob.data());
    t->magic = 0;
    ksym::set_table(t, blob.size());
    EXPECT_EQ(ksym::lookup(0x1000, nullptr, nullptr), nullptr);
    t->magic = ksym::TABLE_MAGIC;
    t->count = 1000;   // claims more entries than the blob holds
    ksym::set_table(t, blob.size());
    EXPECT_EQ(ksym::lookup(0x1000, nullptr, nullptr), nullptr);
    ksym::set_table(nullptr, 0);
    EXPECT_EQ(ksym::lookup(0x1000, nullptr, nullptr), nullptr);
}
