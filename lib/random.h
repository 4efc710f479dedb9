// A small deterministic PRNG (xorshift32) for stress tests with fixed seeds.
#pragma once

#include "lib/types.h"

class Xorshift32 {
public:
    explicit constexpr Xorshift32(u32 seed) : m_state(seed ? seed : 0x9e3779b9u) {}

    u32 next() {
        u32 x = m_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return m_state = x;
    }
    // Uniform enough in [0, bound) for tests; bound > 0.
    u32 below(u32 bound) { return next() % bound; }

private:
    u32 m_state;
};
