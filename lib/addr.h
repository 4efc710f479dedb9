// Strong types for the addresses that must never be mixed up: physical
// addresses (64-bit: RAM may lie above 4 GiB), page frame numbers and
// kernel virtual addresses (32-bit). A conversion between them is always a
// named function, never an implicit one.
//
// Here in lib/ so that arch/x86 (page-table entries) and mm/ share them;
// mm/types.h brings them into namespace mm.
#pragma once

#include "lib/types.h"

namespace lib {

constexpr u32 PAGE_SHIFT = 12;
constexpr u32 PAGE_SIZE = 1u << PAGE_SHIFT;
constexpr u32 PAGE_MASK = ~(PAGE_SIZE - 1);

namespace detail {

// The comparisons of a type whose whole meaning is its value(): a base, so
// that each address type states them once.
template <typename Self>
struct OrderedByValue {
    friend constexpr bool operator==(Self a, Self b) { return a.value() == b.value(); }
    friend constexpr bool operator<(Self a, Self b) { return a.value() < b.value(); }
    friend constexpr bool operator<=(Self a, Self b) { return a.value() <= b.value(); }
    friend constexpr bool operator>(Self a, Self b) { return a.value() > b.value(); }
    friend constexpr bool operator>=(Self a, Self b) { return a.value() >= b.value(); }
};

} // namespace detail

class PhysAddr : public detail::OrderedByValue<PhysAddr> {
public:
    constexpr PhysAddr() = default;
    constexpr explicit PhysAddr(u64 v) : m_value(v) {}
    constexpr u64 value() const { return m_value; }

    constexpr PhysAddr page_down() const { return PhysAddr(m_value & ~u64{PAGE_SIZE - 1}); }
    constexpr PhysAddr page_up() const {
        return PhysAddr((m_value + PAGE_SIZE - 1) & ~u64{PAGE_SIZE - 1});
    }
    constexpr bool page_aligned() const { return (m_value & (PAGE_SIZE - 1)) == 0; }

    constexpr PhysAddr operator+(u64 n) const { return PhysAddr(m_value + n); }
    constexpr u64 operator-(PhysAddr o) const { return m_value - o.m_value; }

private:
    u64 m_value = 0;
};

class Pfn : public detail::OrderedByValue<Pfn> {
public:
    constexpr Pfn() = default;
    constexpr explicit Pfn(u32 v) : m_value(v) {}
    constexpr u32 value() const { return m_value; }

    static constexpr Pfn down(PhysAddr a) { return Pfn(static_cast<u32>(a.value() >> PAGE_SHIFT)); }
    static constexpr Pfn up(PhysAddr a) { return down(a.page_up()); }
    constexpr PhysAddr phys() const { return PhysAddr(u64{m_value} << PAGE_SHIFT); }

    constexpr Pfn operator+(u32 n) const { return Pfn(m_value + n); }
    constexpr Pfn operator-(u32 n) const { return Pfn(m_value - n); }
    constexpr u32 operator-(Pfn o) const { return m_value - o.m_value; }
    Pfn& operator++() {
        ++m_value;
        return *this;
    }

private:
    u32 m_value = 0;
};

// A half-open range of page frames [start, end).
struct PfnRange {
    Pfn start;
    Pfn end;
    constexpr u32 pages() const { return end > start ? end - start : 0; }
    constexpr bool contains(Pfn p) const { return p >= start && p < end; }
};

// A kernel virtual address: 32 bits, whatever the paging mode (PAE widens
// physical addresses only). Converting to and from a pointer is for the
// kernel, where pointers are 32 bits; the host tests use the arithmetic.
class VirtAddr : public detail::OrderedByValue<VirtAddr> {
public:
    constexpr VirtAddr() = default;
    constexpr explicit VirtAddr(u32 v) : m_value(v) {}
    template <typename T>
    explicit VirtAddr(T* p) : m_value(reinterpret_cast<uintptr_t>(p)) {
        static_assert(sizeof(T*) == sizeof(u32), "a kernel pointer is 32 bits");
    }
    constexpr u32 value() const { return m_value; }

    template <typename T>
    T* ptr() const {
        static_assert(sizeof(T*) == sizeof(u32), "a kernel pointer is 32 bits");
        return reinterpret_cast<T*>(m_value);
    }

    constexpr VirtAddr page_down() const { return VirtAddr(m_value & PAGE_MASK); }
    constexpr u32 offset_in_page() const { return m_value & ~PAGE_MASK; }
    constexpr bool page_aligned() const { return offset_in_page() == 0; }

    constexpr VirtAddr operator+(u32 n) const { return VirtAddr(m_value + n); }
    constexpr VirtAddr operator-(u32 n) const { return VirtAddr(m_value - n); }
    constexpr u32 operator-(VirtAddr o) const { return m_value - o.m_value; }
    VirtAddr& operator+=(u32 n) {
        m_value += n;
        return *this;
    }

private:
    u32 m_value = 0;
};

} // namespace lib
