// Single-stepping, for the tests that check a rule at every instruction
// boundary (kmap_step_test.cpp, pks_step_test.cpp): with EFLAGS.TF set the
// CPU raises a debug exception (#DB, vector 1, a trap: EIP is the next
// instruction) after each instruction.
#pragma once

#include "arch/x86/cpu.h"
#include "lib/ksym.h"
#include "lib/string.h"
#include "lib/types.h"

namespace test_support {

constexpr unsigned VECTOR_DEBUG = 1;

inline void stop_single_stepping() { x86::write_eflags(x86::read_eflags() & ~x86::EFLAGS_TF); }

// This CPU single-steps for the object's lifetime. switch_to saves no
// EFLAGS, so the flag goes with the CPU into a task it switches to: a case
// that steps through a switch ends the stepping in the incoming task.
class [[nodiscard]] SingleStep : Pinned {
public:
    SingleStep() { x86::write_eflags(x86::read_eflags() | x86::EFLAGS_TF); }
    ~SingleStep() { stop_single_stepping(); }
};

// Which of N functions, named by a needle in their demangled names, an EIP
// is in (their own code, not what they call); -1 for none of them. The
// function of the last lookup is remembered: a step is mostly in the same
// one as the step before.
template <unsigned N>
class FunctionMatcher {
public:
    constexpr explicit FunctionMatcher(const char* const (&needles)[N]) : m_needles(&needles[0]) {}

    int at(u32 eip) {
        if (eip - m_start < m_end - m_start)
            return m_match;
        u32 offset = 0, size = 0;
        const char* name = ksym::lookup(eip, &offset, &size);
        m_start = eip - offset;
        m_end = m_start + (size ? size : 1);
        m_match = -1;
        for (unsigned i = 0; name && i < N; ++i)
            if (lib::strstr(name, m_needles[i]))
                m_match = static_cast<int>(i);
        return m_match;
    }

private:
    const char* const* m_needles;
    u32 m_start = 0, m_end = 0;
    int m_match = -1;
};

} // namespace test_support
