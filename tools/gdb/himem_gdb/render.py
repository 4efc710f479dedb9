"""Text of the `himem` GDB commands, from plain data (no GDB here).

The kernel's own dump (tests/kernel/gdb_dump_test.cpp) prints the same
lines, so that tests/tools/gdb_session.py can compare the two; a change
here is a change there, and in docs/debugging.md, where the formats are
documented. Every value is hexadecimal with 0x except counts, CPU numbers,
positions and slot numbers, which are decimal.
"""

from dataclasses import dataclass, field

# Flag bits of an entry, low to high, and NX (bit 63, PAE only).
FLAG_NAMES = [(0, "present"), (1, "write"), (2, "user"), (3, "pwt"), (4, "pcd"),
              (5, "accessed"), (6, "dirty"), (7, "pse"), (8, "global"),
              (9, "soft-write"), (10, "soft-enabled"), (63, "nx")]
AD = 0x60   # Accessed, Dirty
FRAME_MASK = {4: 0xfffff000, 8: 0x0000000ffffff000}


def entry_hex(raw, width):
    """A raw entry as the kernel's %#0Nx: 0x and 8 or 16 digits."""
    return f"0x{raw:0{2 * width}x}"


def frame_of(raw, width):
    return (raw & FRAME_MASK[width]) >> 12


def flag_words(raw):
    words = [name for bit, name in FLAG_NAMES if raw >> bit & 1]
    return " ".join(words) if words else "none"


@dataclass
class KmapPos:
    pos: int
    slot: int          # virtual address of the slot on the task's CPU
    saved: int         # raw saved entry
    live: int | None   # raw live entry, when the task is on a CPU


@dataclass
class KmapStack:
    name: str
    address: int
    depth: int
    cpu: int
    running: bool      # the current task of `cpu`
    width: int         # bytes per entry: 4 (2-level) or 8 (PAE)
    positions: list = field(default_factory=list)


def kmap(stack):
    where = f"current on CPU {stack.cpu}" if stack.running else f"not running (last CPU {stack.cpu})"
    lines = [f"task {stack.name} at 0x{stack.address:08x}: kmap_local depth {stack.depth}, {where}"]
    for p in stack.positions:
        if p.saved == 0:
            saved = "empty"
        else:
            saved = f"{entry_hex(p.saved, stack.width)} frame 0x{frame_of(p.saved, stack.width):x}"
        if p.live is None:
            live = "-"
        elif p.live == p.saved:
            live = "agrees"
        elif p.live & ~AD == p.saved & ~AD:
            # The CPU sets Accessed and Dirty in a live entry itself.
            set_bits = p.live & ~p.saved
            live = ("agrees (CPU set" + (" accessed" if set_bits & 0x20 else "")
                    + (" dirty" if set_bits & 0x40 else "") + ")")
        else:
            live = f"differs: {entry_hex(p.live, stack.width)}"
        lines.append(f"  pos {p.pos:2d} slot 0x{p.slot:08x} saved {saved} live {live}")
    return "\n".join(lines)


@dataclass
class PoolSlot:
    nr: int
    count: int
    entry: int


@dataclass
class Pool:
    slots: int
    base: int
    cursor: int
    sleepers: int
    wraps: int
    flushes: int
    width: int
    used: list = field(default_factory=list)   # PoolSlot of every slot with count > 0


def pkmap(pool):
    held = sum(1 for s in pool.used if s.count > 1)
    waiting = sum(1 for s in pool.used if s.count == 1)
    lines = [f"pkmap pool: {pool.slots} slots at 0x{pool.base:08x}, cursor {pool.cursor}, "
             f"wraps {pool.wraps}, flushes {pool.flushes}, sleepers {pool.sleepers}"]
    for s in pool.used:
        state = "waits for a wrap" if s.count == 1 else f"held by {s.count - 1}"
        lines.append(f"  slot {s.nr:4d} at 0x{pool.base + s.nr * 4096:08x} count {s.count} "
                     f"({state}) frame 0x{frame_of(s.entry, pool.width):x}")
    lines.append(f"totals: {held} held, {waiting} waiting for a wrap, "
                 f"{pool.slots - held - waiting} free")
    return "\n".join(lines)


@dataclass
class Cpu:
    index: int
    task: str
    preempt: int
    migrate: int
    irq_depth: int
    pkrs: int
    invlpg: int
    full_flushes: int
    shootdowns: int


def cpus(rows):
    lines = []
    for c in rows:
        lines.append(f"cpu {c.index}: current {c.task} preempt 0x{c.preempt:08x} "
                     f"migrate {c.migrate} irq_depth {c.irq_depth} pkrs 0x{c.pkrs:08x} "
                     f"tlb invlpg {c.invlpg} full {c.full_flushes} shootdowns {c.shootdowns}")
    return "\n".join(lines)


STATES = {0: "runnable", 1: "sleeping", 2: "dead"}


@dataclass
class TaskRow:
    name: str
    address: int
    state: int
    cpu: int
    running: bool
    allowed: int
    depth: int


def tasks(rows):
    lines = []
    for t in rows:
        state = "running" if t.running else STATES.get(t.state, f"state{t.state}")
        lines.append(f"task {t.name} at 0x{t.address:08x}: {state} cpu {t.cpu} "
                     f"allowed 0x{t.allowed:08x} kmap depth {t.depth}")
    return "\n".join(lines)


@dataclass
class Walk:
    address: int
    region: str
    width: int
    levels: list = field(default_factory=list)   # (name, raw entry) from the top
    pte: int | None = None                        # None: the walk stopped above


def pte(w):
    lines = [f"0x{w.address:08x}: {w.region}"]
    for name, raw in w.levels:
        lines.append(f"  {name} {entry_hex(raw, w.width)} {flag_words(raw)}")
    if w.pte is None:
        lines.append("  no page table: not mapped")
    elif w.pte & 1:
        lines.append(f"  pte {entry_hex(w.pte, w.width)} frame 0x{frame_of(w.pte, w.width):x} "
                     f"{flag_words(w.pte)}")
    else:
        lines.append(f"  pte {entry_hex(w.pte, w.width)} not present")
    return "\n".join(lines)


def ring_text(buf, written):
    """What the kernel's log ring holds, oldest byte first."""
    size = len(buf)
    n = min(written, size)
    start = (written - n) % size
    data = bytes(buf[start:]) + bytes(buf[:start]) if n == size else bytes(buf[start:start + n])
    return data.decode("utf-8", "replace")
