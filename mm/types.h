// Strong types for the things memory management must never mix up:
// physical addresses (64-bit: RAM may lie above 4 GiB), page frame numbers,
// and pages. A conversion between them is always a named function.
#pragma once

#include "lib/types.h"

namespace mm {

constexpr u32 PAGE_SHIFT = 12;
constexpr u32 PAGE_SIZE = 1u << PAGE_SHIFT;
constexpr u32 PAGE_MASK = ~(PAGE_SIZE - 1);

class PhysAddr {
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
    constexpr bool operator==(const PhysAddr&) const = default;
    constexpr bool operator<(PhysAddr o) const { return m_value < o.m_value; }
    constexpr bool operator<=(PhysAddr o) const { return m_value <= o.m_value; }
    constexpr bool operator>(PhysAddr o) const { return m_value > o.m_value; }
    constexpr bool operator>=(PhysAddr o) const { return m_value >= o.m_value; }

private:
    u64 m_value = 0;
};

class Pfn {
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
    constexpr bool operator==(const Pfn&) const = default;
    constexpr bool operator<(Pfn o) const { return m_value < o.m_value; }
    constexpr bool operator<=(Pfn o) const { return m_value <= o.m_value; }
    constexpr bool operator>(Pfn o) const { return m_value > o.m_value; }
    constexpr bool operator>=(Pfn o) const { return m_value >= o.m_value; }

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

} // namespace mm
