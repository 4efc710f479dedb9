"""`himem ...` commands and the $percpu / $current_task functions."""

import gdb

from . import render, state


class Himem(gdb.Command):
    """himem's kernel state: himem kmap|pkmap|cpus|tasks|pte|dmesg (docs/debugging.md)."""

    def __init__(self):
        super().__init__("himem", gdb.COMMAND_DATA, prefix=True)


class Kmap(gdb.Command):
    """himem kmap [TASK]: a task's kmap_local stack (default: the selected CPU's
current task). TASK is a task name or an expression giving a sched::Task*."""

    def __init__(self):
        super().__init__("himem kmap", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        task = state.find_task(arg) if arg else state.current_task(state.selected_cpu())
        if not state.u(task):
            raise gdb.GdbError("no task: the scheduler has not started on this CPU")
        gdb.write(render.kmap(state.kmap_stack(task)) + "\n")


class Pkmap(gdb.Command):
    """himem pkmap: the kmap() pool: every slot in use, and the totals."""

    def __init__(self):
        super().__init__("himem pkmap", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        gdb.write(render.pkmap(state.pool()) + "\n")


class Cpus(gdb.Command):
    """himem cpus: per online CPU, its task, counts, key register and TLB counters."""

    def __init__(self):
        super().__init__("himem cpus", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        gdb.write(render.cpus(state.cpu_rows()) + "\n")


class Tasks(gdb.Command):
    """himem tasks: every task with its state, CPU, affinity and kmap depth."""

    def __init__(self):
        super().__init__("himem tasks", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        gdb.write(render.tasks(state.task_rows()) + "\n")


class Pte(gdb.Command):
    """himem pte ADDR: walk the selected CPU's page tables (CR3) for ADDR."""

    def __init__(self):
        super().__init__("himem pte", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: himem pte ADDR")
        va = int(gdb.parse_and_eval(arg)) & 0xffffffff
        gdb.write(render.pte(state.walk(va, state.cr3())) + "\n")


class Dmesg(gdb.Command):
    """himem dmesg: the kernel's log ring (lib::log_ring), oldest line first."""

    def __init__(self):
        super().__init__("himem dmesg", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        text = state.log_text()
        gdb.write(text if text.endswith("\n") or not text else text + "\n")


class PerCpu(gdb.Function):
    """$percpu("field", [cpu]): a field of a CPU's x86::PerCpu block (default: the
selected CPU)."""

    def __init__(self):
        super().__init__("percpu")

    def invoke(self, name, cpu=None):
        c = state.selected_cpu() if cpu is None else int(cpu)
        return state.percpu(c)[name.string()]


class CurrentTask(gdb.Function):
    """$current_task([cpu]): the sched::Task* running on a CPU (default: the
selected one)."""

    def __init__(self):
        super().__init__("current_task")

    def invoke(self, cpu=None):
        return state.current_task(state.selected_cpu() if cpu is None else int(cpu))


Himem()
Kmap()
Pkmap()
Cpus()
Tasks()
Pte()
Dmesg()
PerCpu()
CurrentTask()
