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

namespace sched {

// kmap_local's stack (mm/kmap_local.h): the depth in positions and the PTE
// this task has installed at each. The switch hooks clear and restore the
// slots from it; neither changes it (seeds/003).
struct KmapCtrl {
    int idx;
    x86::Pte pteval[x86::KM_MAX_IDX];
};
static_assert(sizeof(KmapCtrl) == sizeof(int) + x86::KM_MAX_IDX * sizeof(x86::Pte));

} // namespace sched
