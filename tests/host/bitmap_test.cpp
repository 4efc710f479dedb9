#include "lib/bitmap.h"

#include <gtest/gtest.h>

TEST(Bitmap, SetClearTest) {
    Bitmap<70> b;
    EXPECT_EQ(b.count(), 0u);
    b.set(0);
    b.set(31);
    b.set(32);
    b.set(69);
    EXPECT_TRUE(b.test(0));
    EXPECT_TRUE(b.test(31));
    EXPECT_TRUE(b.test(32));
    EXPECT_TRUE(b.test(69));
    EXPECT_FALSE(b.test(68));
    EXPECT_EQ(b.count(), 4u);
    b.clear(31);
    EXPECT_FALSE(b.test(31));
    EXPECT_EQ(b.count(), 3u);
    EXPECT_FALSE(b.test_and_set(5));
    EXPECT_TRUE(b.test_and_set(5));
}

TEST(Bitmap, FindFirst) {
    Bitmap<100> b;
    EXPECT_EQ(b.find_first_set(), BitmapView::NOT_FOUND);
    EXPECT_EQ(b.find_first_clear(), 0u);
    b.set(40);
    b.set(99);
    EXPECT_EQ(b.find_first_set(), 40u);
    EXPECT_EQ(b.find_first_set(41), 99u);
    EXPECT_EQ(b.find_first_set(100), BitmapView::NOT_FOUND);
    b.fill(true);
    EXPECT_EQ(b.count(), 100u);
    EXPECT_EQ(b.find_first_clear(), BitmapView::NOT_FOUND);   // bits past 100 don't count
    b.clear(77);
    EXPECT_EQ(b.find_first_clear(), 77u);
}

TEST(Bitmap, ClearRuns) {
    Bitmap<64> b;
    b.set_range(0, 10);
    b.set(15);
    EXPECT_EQ(b.find_clear_run(5), 10u);
    EXPECT_EQ(b.find_clear_run(6), 16u);
    EXPECT_EQ(b.find_clear_run(48), 16u);
    EXPECT_EQ(b.find_clear_run(49), BitmapView::NOT_FOUND);
    b.clear_range(0, 10);
    EXPECT_EQ(b.find_clear_run(15), 0u);
}

TEST(Bitmap, ViewOverCallerStorage) {
    u32 words[BitmapView::words_for(40)] = {};
    BitmapView v(words, 40);
    v.set(33);
    EXPECT_EQ(words[1], 1u << 1);
    EXPECT_EQ(v.size(), 40u);
}
