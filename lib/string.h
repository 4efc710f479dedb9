// mem/string functions. They live in namespace lib so that the host build can
// test them beside its libc; the kernel also exports the C names the compiler
// calls implicitly (memcpy, memset, memmove, memcmp).
#pragma once

#include "lib/types.h"

namespace lib {

void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
const char* strchr(const char* s, int c);
// Copies at most size-1 bytes and always terminates (when size > 0).
// Returns strlen(src), so a result >= size means truncation.
size_t strlcpy(char* dst, const char* src, size_t size);

// Shell-style glob: '*' matches any run, '?' any one character.
bool glob_match(const char* pattern, const char* text);

} // namespace lib

namespace lib {
// First occurrence of `needle` in `haystack`, or null.
const char* strstr(const char* haystack, const char* needle);
} // namespace lib
