// Injection points: named places where a test may run code of its own, to
// make certain what otherwise happens only by chance - a preemption inside a
// narrow window, a wake-up racing a sleep. A subsystem defines its points
// next to the code that reaches them and declares them in its *_testing.h;
// tests arm one hook for all of them (lib/inject_testing.h) and act on the
// point they care about.
//
// Unarmed, a point costs one load and a branch not taken. Points sit only on
// slow paths (cross-CPU calls, affinity changes, sleeping on the kmap() pool),
// never on a map or an unmap.
#pragma once

#include "lib/types.h"

struct InjectPoint {
    const char* name;
};

using InjectHook = void (*)(const InjectPoint& point);

namespace inject_detail {
inline InjectHook hook = nullptr;
}

inline void inject_point(const InjectPoint& point) {
    if (const InjectHook h = __atomic_load_n(&inject_detail::hook, __ATOMIC_ACQUIRE); unlikely(h))
        h(point);
}
