// Test-only access to kmap_local (mm/kmap_local.h): an instrumented context
// switch, for the race tests of seeds/003.
#pragma once

#include "lib/types.h"
#include "sched/sched_testing.h"

namespace mm::testing {

enum class KmapPhase : u8 { Out, In };
// Called inside the switch loops after each position handled.
using KmapInjectHook = void (*)(KmapPhase phase, sched::Task* task, unsigned pos);

struct KmapSwitchInstruments {
    KmapInjectHook inject = nullptr;
    // The original RFC's single-phase switch: prev's slots swapped for next's
    // in one loop while current is still prev. Broken on purpose (seeds/003).
    bool single_phase = false;
};

// kmap_local's registered task hooks, and the same with the switch
// instrumented. They are two instantiations of one piece of code: the
// registered one reads no instrument, so unused they cost the switch nothing.
const sched::TaskHooks& kmap_local_hooks();
const sched::TaskHooks& instrumented_kmap_local_hooks();
void set_switch_instruments(const KmapSwitchInstruments& instruments);

// For the life of the guard the instrumented hooks stand in for kmap_local's.
class [[nodiscard]] InstrumentedKmapSwitch : Pinned {
public:
    explicit InstrumentedKmapSwitch(const KmapSwitchInstruments& instruments)
        : m_instruments(instruments), m_swap(kmap_local_hooks(), instrumented_kmap_local_hooks()) {}

private:
    // Set before the swap, cleared after it is undone.
    struct Instruments : Pinned {
        explicit Instruments(const KmapSwitchInstruments& i) { set_switch_instruments(i); }
        ~Instruments() { set_switch_instruments({}); }
    } m_instruments;
    sched::testing::TaskHooksReplacement m_swap;
};

} // namespace mm::testing
