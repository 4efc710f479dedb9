#include "lib/printk.h"

#include "lib/atomic.h"
#include "lib/platform.h"
#include "lib/spinlock.h"
#include "lib/string.h"

namespace lib {
namespace {

Spinlock console_lock;
Atomic<bool> lock_broken{false};

void emit(const char* text, size_t len) {
    // A CPU that faults while printing already holds the lock: write anyway
    // rather than deadlock on ourselves.
    if (lock_broken.load(MemoryOrder::Relaxed) || console_lock.owner() == platform::this_cpu_id()) {
        platform::console_write(text, len);
        return;
    }
    const platform::IrqFlags flags = platform::irq_save();
    console_lock.lock();
    platform::console_write(text, len);
    console_lock.unlock();
    platform::irq_restore(flags);
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

void console_break_lock() { lock_broken.store(true); }
bool console_lock_broken() { return lock_broken.load(); }

} // namespace lib
