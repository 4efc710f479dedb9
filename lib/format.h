// The kernel formatter: printf conversions a kernel developer expects.
//
//   %d %i %u %x %X %o %c %s %p %%
//   flags '-' '0' '+' ' ' '#', width and precision (also '*'),
//   lengths hh h l ll z t j (so %llu and %llx print 64-bit values).
//
// %p prints "0x" and the pointer's full width in hex. %s of a null pointer
// prints "(null)". An unknown conversion is printed as written, so a bad format
// string shows up in the output instead of consuming arguments silently.
#pragma once

#include <stdarg.h>

#include "lib/types.h"

#define HIMEM_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))

namespace lib {

// snprintf semantics: at most size-1 characters and a terminating NUL are
// written (nothing when size == 0); the return value is the length the full
// output would have had, so a result >= size means truncation.
size_t vformat(char* buf, size_t size, const char* fmt, va_list ap);
size_t format(char* buf, size_t size, const char* fmt, ...) HIMEM_PRINTF(3, 4);

} // namespace lib
