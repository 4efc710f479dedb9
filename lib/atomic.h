// A small atomic wrapper over GCC's __atomic builtins. Only sizes the target
// can do lock-free (up to 32 bits on i686) are meant to be used.
#pragma once

#include "lib/types.h"

enum class MemoryOrder : int {
    Relaxed = __ATOMIC_RELAXED,
    Acquire = __ATOMIC_ACQUIRE,
    Release = __ATOMIC_RELEASE,
    AcqRel = __ATOMIC_ACQ_REL,
    SeqCst = __ATOMIC_SEQ_CST,
};

template <typename T>
class Atomic {
public:
    constexpr Atomic() : m_value() {}
    constexpr explicit Atomic(T v) : m_value(v) {}
    Atomic(const Atomic&) = delete;
    Atomic& operator=(const Atomic&) = delete;

    T load(MemoryOrder o = MemoryOrder::SeqCst) const {
        return __atomic_load_n(&m_value, static_cast<int>(o));
    }
    void store(T v, MemoryOrder o = MemoryOrder::SeqCst) {
        __atomic_store_n(&m_value, v, static_cast<int>(o));
    }
    T exchange(T v, MemoryOrder o = MemoryOrder::SeqCst) {
        return __atomic_exchange_n(&m_value, v, static_cast<int>(o));
    }
    bool compare_exchange(T& expected, T desired, MemoryOrder o = MemoryOrder::SeqCst) {
        return __atomic_compare_exchange_n(&m_value, &expected, desired, false,
                                           static_cast<int>(o), __ATOMIC_RELAXED);
    }
    T fetch_add(T v, MemoryOrder o = MemoryOrder::SeqCst) {
        return __atomic_fetch_add(&m_value, v, static_cast<int>(o));
    }
    T fetch_sub(T v, MemoryOrder o = MemoryOrder::SeqCst) {
        return __atomic_fetch_sub(&m_value, v, static_cast<int>(o));
    }
    T fetch_or(T v, MemoryOrder o = MemoryOrder::SeqCst) {
        return __atomic_fetch_or(&m_value, v, static_cast<int>(o));
    }
    T fetch_and(T v, MemoryOrder o = MemoryOrder::SeqCst) {
        return __atomic_fetch_and(&m_value, v, static_cast<int>(o));
    }

private:
    T m_value;
};

inline void compiler_barrier() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
// A full barrier between CPUs (Linux's smp_mb).
inline void memory_barrier() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// Linux's READ_ONCE / WRITE_ONCE: one access, neither torn nor merged nor
// dropped, of a plain variable that another CPU or an interrupt may use at
// the same time; ordered only as `o` asks.
template <typename T>
inline T read_once(const T& v, MemoryOrder o = MemoryOrder::Relaxed) {
    return __atomic_load_n(&v, static_cast<int>(o));
}
template <typename T>
inline void write_once(T& v, T x, MemoryOrder o = MemoryOrder::Relaxed) {
    __atomic_store_n(&v, x, static_cast<int>(o));
}

// For a registration that may happen once (a hook, an allocator): sets an
// empty slot to `value` (release) and returns true, or leaves the first
// value and returns false.
template <typename T>
inline bool publish_once(T*& slot, T* value) {
    T* none = nullptr;
    return __atomic_compare_exchange_n(&slot, &none, value, false, __ATOMIC_RELEASE,
                                       __ATOMIC_RELAXED);
}
