// Arming the injection points of lib/inject.h: tests only.
#pragma once

#include "lib/inject.h"

// The hook runs at every point reached while it is armed, on whichever CPU
// and in whatever context reaches it; it must check which point it is at.
// Disarming does not wait for a hook still running on another CPU.
class [[nodiscard]] InjectHookGuard : Pinned {
public:
    explicit InjectHookGuard(InjectHook hook) {
        __atomic_store_n(&inject_detail::hook, hook, __ATOMIC_RELEASE);
    }
    ~InjectHookGuard() { __atomic_store_n(&inject_detail::hook, nullptr, __ATOMIC_RELEASE); }
};
