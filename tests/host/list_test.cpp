#include "lib/list.h"

#include <vector>

#include <gtest/gtest.h>

namespace {
struct Item {
    int value;
    ListNode node;
    ListNode other;
    explicit Item(int v) : value(v) {}
};
using ItemList = List<Item, &Item::node>;
using OtherList = List<Item, &Item::other>;

std::vector<int> values(ItemList& l) {
    std::vector<int> v;
    for (Item& i : l)
        v.push_back(i.value);
    return v;
}
} // namespace

TEST(List, PushPopOrder) {
    Item a(1), b(2), c(3);
    ItemList l;
    EXPECT_TRUE(l.empty());
    l.push_back(a);
    l.push_back(b);
    l.push_front(c);
    EXPECT_EQ(values(l), (std::vector<int>{3, 1, 2}));
    EXPECT_EQ(l.size(), 3u);
    EXPECT_EQ(l.front(), &c);
    EXPECT_EQ(l.back(), &b);
    EXPECT_EQ(l.pop_front(), &c);
    EXPECT_FALSE(c.node.is_linked());
    EXPECT_EQ(values(l), (std::vector<int>{1, 2}));
}

TEST(List, RemoveAndDoubleRemoveIsHarmless) {
    Item a(1), b(2), c(3);
    ItemList l;
    l.push_back(a);
    l.push_back(b);
    l.push_back(c);
    ItemList::remove(b);
    ItemList::remove(b);
    EXPECT_EQ(values(l), (std::vector<int>{1, 3}));
    EXPECT_TRUE(l.contains(a));
    EXPECT_FALSE(l.contains(b));
}

TEST(List, OneObjectOnTwoLists) {
    Item a(1), b(2);
    ItemList l1;
    OtherList l2;
    l1.push_back(a);
    l1.push_back(b);
    l2.push_back(b);
    EXPECT_EQ(l2.front(), &b);
    EXPECT_EQ(l1.size(), 2u);
    OtherList::remove(b);
    EXPECT_EQ(l1.size(), 2u);
    EXPECT_TRUE(l2.empty());
}

TEST(List, DrainWithPopFront) {
    Item items[4] = {Item(0), Item(1), Item(2), Item(3)};
    ItemList l;
    for (Item& i : items)
        l.push_back(i);
    int n = 0;
    while (Item* i = l.pop_front())
        EXPECT_EQ(i->value, n++);
    EXPECT_EQ(n, 4);
    EXPECT_EQ(l.pop_front(), nullptr);
}
