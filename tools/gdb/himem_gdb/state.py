"""The kernel's state as plain data (render.py's types), read through GDB.

Every read names the kernel symbol it comes from; the layout facts that the
kernel keeps in constexpr values (PAGE_OFFSET, the pool's base, ...) are
recomputed here from what the debug information does hold (enumerators of
mm::FixedAddress, the entry's size, array lengths), with the formulas of
mm/layout.h.
"""

import gdb

from . import render

PAGE = 4096
PAGE_OFFSET = 0xC0000000
FIXADDR_TOP = 0xfffff000


def ev(expr):
    return gdb.parse_and_eval(expr)


def u(value):
    return int(value) & 0xffffffff


def entry_width():
    """Bytes per page-table entry: 4 (2-level paging) or 8 (PAE)."""
    return int(ev("sizeof(x86::Pte)"))


def raw_entry(value):
    """The raw word of an x86::Pte / x86::Pde value."""
    return int(value["m_raw"]) & ((1 << (8 * entry_width())) - 1)


def nr_cpus():
    return int(ev("sizeof(x86::cpu_data) / sizeof(x86::cpu_data[0])"))


def online_cpus():
    mask = int(ev("x86::cpu_online_mask")["m_value"])
    return [c for c in range(nr_cpus()) if mask >> c & 1]


def selected_cpu():
    """GDB thread N is vCPU N - 1 under QEMU."""
    thread = gdb.selected_thread()
    if thread is None:
        raise gdb.GdbError("no thread selected: is GDB attached to QEMU?")
    return thread.num - 1


def percpu(cpu):
    return ev(f"x86::cpu_data[{int(cpu)}]")


def task_type():
    return gdb.lookup_type("sched::Task")


def current_task(cpu):
    """The sched::Task* running on `cpu` (null before the scheduler starts)."""
    return percpu(cpu)["current"].cast(task_type().pointer())


def task_name(task):
    return task["name"].string(length=24).split("\0")[0]


def task_pool():
    """(task pointer) of every allocated task, in the pool's order."""
    pool = ev("'sched::(anonymous namespace)::pool'")
    used = ev("'sched::(anonymous namespace)::used'")
    count = pool.type.range()[1] + 1
    return [pool[i].address for i in range(count) if bool(used[i])]


def find_task(spec):
    """A task by name, or by address (any expression that gives a pointer)."""
    for t in task_pool():
        if task_name(t) == spec:
            return t
    try:
        value = ev(spec)
    except gdb.error:
        raise gdb.GdbError(f"no task named '{spec}'") from None
    return value.cast(task_type().pointer())


def running_cpu(task):
    """The CPU whose current task `task` is, or None."""
    for c in online_cpus():
        if u(percpu(c)["current"]) == u(task):
            return c
    return None


def km_max_idx():
    return int(ev("sizeof(((sched::Task*)0)->kmap_ctrl.pteval) / sizeof(x86::Pte)"))


def read_entry(address, width):
    data = gdb.selected_inferior().read_memory(address, width).tobytes()
    return int.from_bytes(data, "little")


def kmap_stack(task):
    width = entry_width()
    ctrl = task["kmap_ctrl"]
    depth = int(ctrl["idx"])
    on = running_cpu(task)
    cpu = on if on is not None else int(task["cpu"])
    block = percpu(cpu)
    vaddr0 = u(block["kmap_vaddr"])
    pte0 = u(block["kmap_pte"])
    stack = render.KmapStack(task_name(task), u(task), depth, cpu, on is not None, width)
    for pos in range(max(0, min(depth, km_max_idx()))):
        saved = raw_entry(ctrl["pteval"][pos])
        live = read_entry(pte0 - pos * width, width) if on is not None else None
        stack.positions.append(render.KmapPos(pos, vaddr0 - pos * PAGE, saved, live))
    return stack


def fixed_index(name):
    return int(ev(f"(int)mm::{name}"))


def pkmap_base(slots):
    """PKMAP_BASE of mm/layout.h."""
    tot_start = FIXADDR_TOP - (fixed_index("END_OF_FIXED_ADDRESSES") << 12)
    pmd_size = slots * PAGE
    return (tot_start - PAGE * (slots + 1)) & ~(pmd_size - 1) & 0xffffffff


def pool():
    width = entry_width()
    p = ev("'mm::(anonymous namespace)::pool'")
    counts = p["count"]
    slots = counts.type.range()[1] + 1
    ptes = u(ev("'mm::(anonymous namespace)::ptes'"))
    stats = p["stats"]
    out = render.Pool(slots, pkmap_base(slots), int(p["cursor"]), int(p["sleepers"]),
                      int(stats["wraps"]), int(stats["flushes"]), width)
    for nr in range(slots):
        count = int(counts[nr])
        if count:
            out.used.append(render.PoolSlot(nr, count, read_entry(ptes + nr * width, width)))
    return out


def cpu_rows():
    rows = []
    for c in online_cpus():
        b = percpu(c)
        t = current_task(c)
        name = task_name(t) if u(t) else "-"
        migrate = int(t["migrate_disable"]) if u(t) else 0
        rows.append(render.Cpu(c, name, u(b["preempt_count"]), migrate, u(b["irq_depth"]),
                               u(b["pkrs"]), u(b["tlb_invlpg"]), u(b["tlb_full_flushes"]),
                               u(b["tlb_shootdowns_received"])))
    return rows


def task_rows():
    rows = []
    for t in task_pool():
        rows.append(render.TaskRow(task_name(t), u(t), int(t["state"]), int(t["cpu"]),
                                   running_cpu(t) is not None, u(t["allowed"]),
                                   int(t["kmap_ctrl"]["idx"])))
    return rows


# ---- the page walk ---------------------------------------------------------------

def lowmem_end():
    return PAGE_OFFSET + int(ev("mm::max_low_pfn")["m_value"]) * PAGE


def read_phys(phys, width):
    """An entry at a physical address, through the direct map (every page
    table of the kernel is in lowmem)."""
    if PAGE_OFFSET + phys >= lowmem_end():
        raise gdb.GdbError(f"physical 0x{phys:x} is not in lowmem: no direct-map view")
    return read_entry(PAGE_OFFSET + phys, width)


def region(va):
    if PAGE_OFFSET <= va < lowmem_end():
        return f"direct map of physical 0x{va - PAGE_OFFSET:x}"
    slots = int(ev("sizeof('mm::(anonymous namespace)::pool'.count) / sizeof(int)"))
    base = pkmap_base(slots)
    if base <= va < base + slots * PAGE:
        return f"pkmap pool slot {(va - base) // PAGE}"
    vstart = u(ev("mm::VMALLOC_START"))
    if vstart <= va < base - 2 * PAGE:
        return "vmalloc"
    idx = (FIXADDR_TOP - (va & ~0xfff)) >> 12 if va <= FIXADDR_TOP + 0xfff else -1
    begin, end = fixed_index("FIX_KMAP_BEGIN"), fixed_index("FIX_KMAP_END")
    if begin <= idx <= end:
        per_cpu = km_max_idx()
        slot = idx - begin
        if slot // per_cpu < nr_cpus():
            return f"fixmap kmap slot {slot % per_cpu} of CPU {slot // per_cpu}"
    if 0 <= idx < fixed_index("END_OF_FIXED_ADDRESSES"):
        return f"fixmap index {idx}"
    if va < PAGE_OFFSET:
        return "user space"
    return "unused kernel space"


def walk(va, cr3):
    width = entry_width()
    w = render.Walk(va, region(va), width)
    if width == 8:
        pdpte = read_phys((cr3 & ~0x1f) + (va >> 30) * 8, 8)
        w.levels.append(("pdpte", pdpte))
        if not pdpte & 1:
            return w
        pde = read_phys((pdpte & render.FRAME_MASK[8]) + ((va >> 21) & 511) * 8, 8)
        w.levels.append(("pde", pde))
        if not pde & 1 or pde & 0x80:
            return w
        w.pte = read_phys((pde & render.FRAME_MASK[8]) + ((va >> 12) & 511) * 8, 8)
        return w
    pde = read_phys((cr3 & ~0xfff) + (va >> 22) * 4, 4)
    w.levels.append(("pde", pde))
    if not pde & 1 or pde & 0x80:
        return w
    w.pte = read_phys((pde & 0xfffff000) + ((va >> 12) & 1023) * 4, 4)
    return w


def cr3():
    return int(ev("$cr3")) & 0xffffffff


def log_text():
    ring = ev("lib::log_ring")
    buf = ring["buf"]
    size = buf.type.range()[1] + 1
    data = gdb.selected_inferior().read_memory(buf.address, size).tobytes()
    return render.ring_text(data, int(ring["written"]))
