// The per-task state of subsystems above the scheduler, as plain data.
//
// A task carries it (sched::Task has one member of each type), the scheduler
// never looks inside, and each owner reaches its own member directly: the
// task's life and switch hooks (sched/hooks.h) are where the owner keeps it
// up to date. Linux's task_struct holds its kmap_ctrl the same way. Only
// types go here, from arch/ and lib/, so that the task can include this
// without the scheduler depending on its users.
#pragma once

#include "arch/x86/kmap_size.h"
#include "arch/x86/paging.h"
#include "arch/x86/pkrs.h"

namespace sched {

// kmap_local's stack (mm/kmap_local.h): the depth in positions and the PTE
// this task has installed at each. The switch hooks clear and restore the
// slots from it; neither changes it (seeds/003).
struct KmapCtrl {
    int idx;
    x86::Pte pteval[x86::KM_MAX_IDX];
};
static_assert(sizeof(KmapCtrl) == sizeof(int) + x86::KM_MAX_IDX * sizeof(x86::Pte));

// Protection keys (mm/pks.h). `pkrs` is the rights of this task's running
// context: what the CPU's register holds while it runs (with the global
// grants). A handler that runs on top of it - an interrupt, an exception -
// gets the default rights, and the rights of the context it interrupted wait
// in `interrupted`, one per level, until it returns. `access_count` nests
// the thread-local enables of each key (dev_page_enable_access);
// `keyed_mappings` counts the kmap_local positions that map a keyed frame,
// so that a switch in looks at them only when there are some.
struct PksState {
    static constexpr unsigned MAX_NESTING = 8;
    u32 pkrs = x86::PKRS_DEFAULT;
    u32 nesting;
    u32 interrupted[MAX_NESTING];
    u16 access_count[x86::NR_PKEYS];
    u32 keyed_mappings;
};

// The kmap_atomic audit (mm/kmap_audit.h, debug build, kmap.audit): the
// audited sections this task has open, innermost last, each as its row in
// the audit's table; the handlers running on top of it (their events are
// not the section's); and the CPU it was switched out from with a section
// open (plus one; 0: it was not), so the switch back in can tell who ran
// there meanwhile and whether it moved. Untouched without kmap.audit.
struct KmapAuditState {
    static constexpr unsigned MAX_OPEN = 16;   // kmap_local's own limit in the debug build
    u32 open;
    u16 row[MAX_OPEN];
    u32 nested;
    u32 away_from;
};

} // namespace sched
