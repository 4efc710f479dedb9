#include "lib/printk.h"

#include "lib/atomic.h"
#include "lib/platform.h"
#include "lib/spinlock.h"
#include "lib/string.h"

namespace lib {

LogRing log_ring;

namespace {

OwnedSpinlock console_lock;
Atomic<bool> lock_broken{false};

struct Capture {
    char* buf = nullptr;
    size_t size = 0;
    size_t len = 0;
};
Capture captures[PRINTK_MAX_CPUS];

bool captured(const char* text, size_t len) {
    const unsigned cpu = platform::this_cpu_id();
    if (cpu >= PRINTK_MAX_CPUS || !captures[cpu].buf)
        return false;
    Capture& c = captures[cpu];
    const size_t room = c.size - 1 - c.len;
    const size_t n = len < room ? len : room;
    memcpy(c.buf + c.len, text, n);
    c.len += n;
    c.buf[c.len] = '\0';
    return true;
}

// Append to the ring, then write to the console: both under the console
// lock, so the ring's order is the console's.
void log_and_write(const char* text, size_t len) {
    for (size_t i = 0; i < len; ++i)
        log_ring.buf[(log_ring.written + i) % LOG_BUF_SIZE] = text[i];
    // The count last: a reader that sees it sees the bytes before it.
    __atomic_store_n(&log_ring.written, log_ring.written + static_cast<u32>(len),
                     __ATOMIC_RELEASE);
    platform::console_write(text, len);
}

void emit(const char* text, size_t len) {
    if (captured(text, len))
        return;
    // A CPU that faults while printing already holds the lock: write anyway
    // rather than deadlock on ourselves.
    if (lock_broken.load(MemoryOrder::Relaxed) || console_lock.owner() == platform::this_cpu_id()) {
        log_and_write(text, len);
        return;
    }
    const platform::IrqFlags flags = console_lock.lock_irqsave();
    log_and_write(text, len);
    console_lock.unlock_irqrestore(flags);
}

} // namespace

void vprintk(const char* fmt, va_list ap) {
    char buf[PRINTK_MAX];
    const size_t n = vformat(buf, sizeof(buf), fmt, ap);
    if (n < sizeof(buf)) {
        emit(buf, n);
        return;
    }
    static const char marker[] = "[...]\n";
    const size_t keep = sizeof(buf) - sizeof(marker);
    memcpy(buf + keep, marker, sizeof(marker));
    emit(buf, keep + sizeof(marker) - 1);
}

void printk(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}

void printk_capture_begin(char* buf, size_t size) {
    const unsigned cpu = platform::this_cpu_id();
    if (cpu >= PRINTK_MAX_CPUS || size == 0)
        return;
    buf[0] = '\0';
    captures[cpu] = {buf, size, 0};
}

size_t printk_capture_end() {
    const unsigned cpu = platform::this_cpu_id();
    if (cpu >= PRINTK_MAX_CPUS)
        return 0;
    const size_t n = captures[cpu].len;
    captures[cpu] = {};
    return n;
}

size_t log_tail(char* out, size_t size) {
    if (size == 0)
        return 0;
    const platform::IrqFlags flags = console_lock.lock_irqsave();
    const u32 written = log_ring.written;
    size_t n = written < LOG_BUF_SIZE ? written : LOG_BUF_SIZE;
    if (n > size - 1)
        n = size - 1;
    for (size_t i = 0; i < n; ++i)
        out[i] = log_ring.buf[(written - n + i) % LOG_BUF_SIZE];
    out[n] = '\0';
    console_lock.unlock_irqrestore(flags);
    return n;
}

void console_break_lock() { lock_broken.store(true); }
bool console_lock_broken() { return lock_broken.load(); }

} // namespace lib
