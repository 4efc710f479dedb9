// Bitmaps over 32-bit words: a fixed-size one (Bitmap<N>) and a view over
// caller-owned storage (BitmapView) for sizes known only at boot.
#pragma once

#include "lib/types.h"

class BitmapView {
public:
    static constexpr size_t WORD_BITS = 32;
    static constexpr size_t NOT_FOUND = ~size_t{0};

    static constexpr size_t words_for(size_t bits) { return (bits + WORD_BITS - 1) / WORD_BITS; }

    BitmapView(u32* words, size_t bits) : m_words(words), m_bits(bits) {}

    size_t size() const { return m_bits; }

    bool test(size_t bit) const { return m_words[bit / WORD_BITS] & mask(bit); }
    void set(size_t bit) { m_words[bit / WORD_BITS] |= mask(bit); }
    void clear(size_t bit) { m_words[bit / WORD_BITS] &= ~mask(bit); }
    // Returns the previous value.
    bool test_and_set(size_t bit) {
        const bool was = test(bit);
        set(bit);
        return was;
    }

    void fill(bool value) {
        for (size_t i = 0; i < words_for(m_bits); ++i)
            m_words[i] = value ? ~0u : 0u;
    }

    void set_range(size_t first, size_t count) {
        for (size_t i = 0; i < count; ++i)
            set(first + i);
    }
    void clear_range(size_t first, size_t count) {
        for (size_t i = 0; i < count; ++i)
            clear(first + i);
    }

    size_t count() const {
        size_t n = 0;
        for (size_t i = 0; i < m_bits / WORD_BITS; ++i)
            n += __builtin_popcount(m_words[i]);
        for (size_t b = m_bits - m_bits % WORD_BITS; b < m_bits; ++b)
            n += test(b);
        return n;
    }

    // First set (or clear) bit at or after `from`, or NOT_FOUND.
    size_t find_first_set(size_t from = 0) const { return find(from, false); }
    size_t find_first_clear(size_t from = 0) const { return find(from, true); }

    // First run of `count` clear bits at or after `from`, or NOT_FOUND.
    size_t find_clear_run(size_t count, size_t from = 0) const {
        size_t start = find_first_clear(from);
        while (start != NOT_FOUND && start + count <= m_bits) {
            const size_t next_set = find_first_set(start);
            if (next_set == NOT_FOUND || next_set >= start + count)
                return start;
            start = find_first_clear(next_set);
        }
        return NOT_FOUND;
    }

private:
    static u32 mask(size_t bit) { return 1u << (bit % WORD_BITS); }

    size_t find(size_t from, bool want_clear) const {
        size_t bit = from;
        while (bit < m_bits) {
            u32 word = m_words[bit / WORD_BITS];
            if (want_clear)
                word = ~word;
            word &= ~0u << (bit % WORD_BITS);
            if (word) {
                const size_t found = bit - bit % WORD_BITS + __builtin_ctz(word);
                return found < m_bits ? found : NOT_FOUND;
            }
            bit = bit - bit % WORD_BITS + WORD_BITS;
        }
        return NOT_FOUND;
    }

    u32* m_words;
    size_t m_bits;
};

template <size_t N>
class Bitmap : public BitmapView {
public:
    Bitmap() : BitmapView(m_storage, N) {}
    Bitmap(const Bitmap&) = delete;
    Bitmap& operator=(const Bitmap&) = delete;

private:
    u32 m_storage[BitmapView::words_for(N)] = {};
};
