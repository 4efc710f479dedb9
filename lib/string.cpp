#include "lib/string.h"

namespace lib {

void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    while (n >= sizeof(u32) && (reinterpret_cast<uintptr_t>(d) % sizeof(u32)) == 0 &&
           (reinterpret_cast<uintptr_t>(s) % sizeof(u32)) == 0) {
        *reinterpret_cast<u32*>(d) = *reinterpret_cast<const u32*>(s);
        d += sizeof(u32);
        s += sizeof(u32);
        n -= sizeof(u32);
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void* memset(void* dst, int c, size_t n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto byte = static_cast<unsigned char>(c);
    const u32 word = 0x01010101u * byte;
    while (n && (reinterpret_cast<uintptr_t>(d) % sizeof(u32)) != 0) {
        *d++ = byte;
        --n;
    }
    while (n >= sizeof(u32)) {
        *reinterpret_cast<u32*>(d) = word;
        d += sizeof(u32);
        n -= sizeof(u32);
    }
    while (n--)
        *d++ = byte;
    return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char* s) {
    size_t n = 0;
    while (s[n])
        ++n;
    return n;
}

size_t strnlen(const char* s, size_t max) {
    size_t n = 0;
    while (n < max && s[n])
        ++n;
    return n;
}

int strcmp(const char* a, const char* b) {
    while (*a && *a == *b) {
        ++a;
        ++b;
    }
    return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

int strncmp(const char* a, const char* b, size_t n) {
    for (; n; --n, ++a, ++b) {
        if (*a != *b || !*a)
            return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
    }
    return 0;
}

const char* strchr(const char* s, int c) {
    for (;; ++s) {
        if (*s == static_cast<char>(c))
            return s;
        if (!*s)
            return nullptr;
    }
}

size_t strlcpy(char* dst, const char* src, size_t size) {
    const size_t len = strlen(src);
    if (size) {
        const size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

const char* strstr(const char* haystack, const char* needle) {
    const size_t n = strlen(needle);
    for (; *haystack; ++haystack) {
        if (strncmp(haystack, needle, n) == 0)
            return haystack;
    }
    return n == 0 ? haystack : nullptr;
}

bool glob_match(const char* pattern, const char* text) {
    // Iterative matcher with one backtrack point: linear in practice, no recursion.
    const char* star = nullptr;
    const char* resume = nullptr;
    while (*text) {
        if (*pattern == '*') {
            star = pattern++;
            resume = text;
        } else if (*pattern == '?' || *pattern == *text) {
            ++pattern;
            ++text;
        } else if (star) {
            pattern = star + 1;
            text = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        ++pattern;
    return *pattern == '\0';
}

} // namespace lib

#if HIMEM_KERNEL
// The compiler emits calls to these C names for struct copies and clears.
extern "C" {
void* memcpy(void* dst, const void* src, size_t n) { return lib::memcpy(dst, src, n); }
void* memmove(void* dst, const void* src, size_t n) { return lib::memmove(dst, src, n); }
void* memset(void* dst, int c, size_t n) { return lib::memset(dst, c, n); }
int memcmp(const void* a, const void* b, size_t n) { return lib::memcmp(a, b, n); }
}
#endif
