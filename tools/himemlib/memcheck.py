"""Check a boot's printed memory map and split against the QEMU -m it ran with.

QEMU's `pc` machine puts all RAM below 4 GiB when -m is under 3.5 GiB
(0xE0000000); from 3.5 GiB on, only 3 GiB (0xC0000000) stays below 4 GiB and
the rest starts at 4 GiB. The firmware keeps the last 128 KiB below the top
of low RAM for itself (ACPI tables) and the legacy hole 640 KiB-1 MiB.

From the printed map, mem= and highmem= (parsed from the command line), the
printed lowmem limit L, the paging mode the kernel names and the CPU QEMU
was given, the lowmem/highmem split is recomputed here and compared with the
kernel's own line. The kernel reaches RAM up to 4 GiB with 2-level paging;
with PAE up to 64 GiB, but no further than the CPU's physical address bits
(36 with PSE36, else 32: QEMU's qemu32 has no 0x80000008 leaf). mem_map,
24 bytes a frame, may take at most half of lowmem.
"""

import re

from .ktap import Verdict

MAP_LINE = re.compile(r"^boot: mem \[0x(?P<start>[0-9a-f]+)-0x(?P<end>[0-9a-f]+)\] (?P<type>.+)$",
                      re.M)
SPLIT_LINE = re.compile(r"^mm: lowmem limit L = 0x(?P<L>[0-9a-f]+) .*lowmem ends at pfn "
                        r"0x(?P<low>[0-9a-f]+), RAM at pfn 0x(?P<max>[0-9a-f]+)$", re.M)
GIB = 1 << 30
PAGE = 4096
FIRMWARE_TOP = 128 << 10     # QEMU reserves this much below the top of low RAM
LOW_RAM_SPLIT = 0xE0000000   # -m at or above this: only 3 GiB below 4 GiB
MIN_LOWMEM_WITH_HIGHMEM = 64 << 20
MIN_MEM = 32 << 20
STRUCT_PAGE = 24


def reach(log, cpu_model):
    """The end of the physical memory the kernel can map."""
    if not re.search(r"^mm: PAE paging", log, re.M):
        return 4 << 30
    features = cpu_model.split(",")[1:]
    bits = 36 if "pse36=on" in features or "+pse36" in features else 32
    return min(64 << 30, 1 << bits)


def parse_size(text):
    text = text.strip()
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower())
    if scale:
        text = text[:-1]
    value = int(text, 0)
    return value * scale if scale else value


def qemu_mem_bytes(arg):
    """QEMU's -m: a plain number means MiB."""
    arg = arg.strip()
    return int(arg) << 20 if arg.isdigit() else parse_size(arg)


def param(append, key):
    m = re.search(r"(?:^|\s)" + re.escape(key) + r"=(\S+)", append or "")
    if not m:
        return None
    try:
        return parse_size(m.group(1))
    except ValueError:
        return None


def check(log, memory_arg, append, cpu_model="qemu32"):
    problems = []
    ram = qemu_mem_bytes(memory_arg)
    below = 0xC0000000 if ram >= LOW_RAM_SPLIT else ram
    above = ram - below
    ranges = [(int(m["start"], 16), int(m["end"], 16) + 1, m["type"]) for m in MAP_LINE.finditer(log)]
    usable = [(s, e) for s, e, t in ranges if t == "usable"]
    if not usable:
        return Verdict(False, "no memory map printed", None)

    main = [r for r in usable if r[0] == 0x100000]
    if len(main) != 1:
        problems.append("no usable range starting at 1 MiB")
    elif not below - FIRMWARE_TOP - (1 << 20) <= main[0][1] <= below:
        problems.append(f"RAM below 4 GiB ends at {main[0][1]:#x}, expected close under {below:#x}")
    for s, e in usable:
        if s < (4 << 30) and e > below:
            problems.append(f"usable range [{s:#x}-{e:#x}) runs past {below:#x}")
    high = [r for r in usable if r[0] >= 4 << 30]
    if above:
        if high != [(4 << 30, (4 << 30) + above)]:
            problems.append(f"expected {above >> 20} MiB at 4 GiB, map has {high}")
    elif high:
        problems.append(f"unexpected RAM above 4 GiB: {high}")
    top = reach(log, cpu_model)

    m = SPLIT_LINE.search(log)
    if not m:
        problems.append("no lowmem/highmem split line")
        return Verdict(not problems, "; ".join(problems), None)
    maxmem_pfn = int(m["L"], 16) // PAGE
    mem = param(append, "mem")
    limit = min(mem, top) if mem and mem >= MIN_MEM else top
    max_pfn = max((min(e, limit) // PAGE for s, e in usable if s < limit), default=0)
    highmem = (param(append, "highmem") or 0) // PAGE
    if max_pfn <= maxmem_pfn:
        low = max_pfn
        if highmem and highmem < max_pfn and max_pfn - highmem >= MIN_LOWMEM_WITH_HIGHMEM // PAGE:
            low = max_pfn - highmem
    else:
        low = maxmem_pfn
        if highmem and highmem <= max_pfn - maxmem_pfn:
            max_pfn = maxmem_pfn + highmem
    max_pfn = min(max_pfn, low * PAGE // 2 // STRUCT_PAGE)
    got = (int(m["low"], 16), int(m["max"], 16))
    if got != (low, max_pfn):
        problems.append(f"kernel split lowmem/RAM at pfns {got[0]:#x}/{got[1]:#x}, "
                        f"model says {low:#x}/{max_pfn:#x}")
    if problems:
        return Verdict(False, "; ".join(problems), None)
    return Verdict(True, f"map matches -m {memory_arg}: lowmem to pfn {low:#x}, RAM to {max_pfn:#x}"
                         + (f" (reach {top >> 30} GiB)" if top != 4 << 30 else ""),
                   None)
