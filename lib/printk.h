// Kernel log output. One printk call is one unit on the console: it is
// formatted into a buffer first and written under the console lock, so lines
// from different CPUs never interleave inside a line. Panic breaks the lock.
#pragma once

#include <stdarg.h>

#include "lib/format.h"

namespace lib {

// Longest single message; longer output is cut and marked with "[...]".
constexpr size_t PRINTK_MAX = 512;

void printk(const char* fmt, ...) HIMEM_PRINTF(1, 2);
void vprintk(const char* fmt, va_list ap);

// Per-CPU capture: while active, this CPU's printk output is appended to
// `buf` instead of going to the console. NMI handlers use it so that they
// never wait on the console lock; someone else prints the buffer later.
constexpr unsigned PRINTK_MAX_CPUS = 64;
void printk_capture_begin(char* buf, size_t size);
size_t printk_capture_end();   // returns the bytes captured

// The log ring: every message that reaches the console is appended here
// first, under the console lock, and the console then writes those bytes
// (Linux's log_buf, which `dmesg` reads). `written` counts every byte ever
// appended, so the ring holds the last min(written, LOG_BUF_SIZE) of them,
// ending at buf[(written - 1) % LOG_BUF_SIZE]. Debuggers read it in place
// (tools/gdb: `himem dmesg`); nothing in the kernel reads it back except
// log_tail(), for tests.
constexpr size_t LOG_BUF_SIZE = 16 * 1024;
struct LogRing {
    char buf[LOG_BUF_SIZE];
    u32 written;
};
extern LogRing log_ring;
// Copy the last (at most) `size` - 1 bytes of the ring into `out`,
// NUL-terminated; returns the bytes copied.
size_t log_tail(char* out, size_t size);

// From now on printk writes without taking the console lock (oops in progress).
void console_break_lock();
bool console_lock_broken();

} // namespace lib

using lib::printk;
