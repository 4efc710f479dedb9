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
