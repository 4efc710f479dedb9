// Basic types for code that builds both in the kernel and on the host.
// Only the C headers every freestanding implementation must provide are used.
#pragma once

#include <stddef.h>
#include <stdint.h>

using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using i8 = int8_t;
using i16 = int16_t;
using i32 = int32_t;
using i64 = int64_t;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

template <typename T, size_t N>
constexpr size_t array_size(const T (&)[N]) { return N; }

template <typename T>
constexpr T min(T a, T b) { return a < b ? a : b; }
template <typename T>
constexpr T max(T a, T b) { return a < b ? b : a; }

template <typename T> struct RemoveReference { using Type = T; };
template <typename T> struct RemoveReference<T&> { using Type = T; };
template <typename T> struct RemoveReference<T&&> { using Type = T; };

template <typename T>
constexpr typename RemoveReference<T>::Type&& move(T&& t) {
    return static_cast<typename RemoveReference<T>::Type&&>(t);
}

// Base for guards and handles that must stay where they were made.
class Pinned {
public:
    Pinned(const Pinned&) = delete;
    Pinned& operator=(const Pinned&) = delete;
    Pinned(Pinned&&) = delete;
    Pinned& operator=(Pinned&&) = delete;

protected:
    Pinned() = default;
    ~Pinned() = default;
};
