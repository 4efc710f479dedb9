"""tools/himem bench: kmap_local and friends measured against Linux's figures.

Boots the manual `bench` suite (tests/kernel/bench.cpp) under QEMU with the
anchor's machine (-M pc -cpu qemu32 -m 2G, one CPU):
  - twice under -icount shift=0,sleep=off (instructions per operation; the
    two runs must agree exactly),
  - once under plain TCG (TSC cycles per operation, turned into nanoseconds
    with the TSC frequency the kernel calibrated),
  - once more under icount with the debug build (its cost on top).
Linux's figures are from shared/reference/linux-perf-anchor.md (6.1, PAE,
same QEMU): numbers to compare, never asserted.
"""

import re
import sys

from . import build, qemu

BENCH_LINE = re.compile(r"# bench: (?P<name>\S+): (?P<value>\d+) tsc/op")
TSC_LINE = re.compile(r"^time: TSC (?P<mhz>[\d.]+) MHz", re.M)
ICOUNT = ["-icount", "shift=0,sleep=off", "-rtc", "base=2024-01-01T00:00:00,clock=vm"]

# name -> (label, Linux instructions, Linux wall ns, "per what")
ROWS = [
    ("kmap_local_highmem", "kmap_local_page + store + kunmap_local, highmem", 271, 2040),
    ("kmap_local_highmem_irqs_off", "  the same, interrupts off for the pass", 257, 1950),
    ("kmap_local_lowmem", "the same on a lowmem page (direct map, no slot)", None, None),
    ("kmap_local_lowmem_irqs_off", "  the same, interrupts off", None, None),
    ("kmap_local_nested_4", "4 nested maps + 4 stores + 4 unmaps (per set)", 1018, 6900),
    ("kmap_atomic_highmem", "kmap_atomic + store + kunmap_atomic, highmem", 265, 1930),
    ("context_switch_holding_0", "context switch, kthread ping-pong, no mappings", 4593, 5640),
    ("context_switch_holding_8", "context switch, both tasks hold 8 mappings", 5286, 16890),
    ("context_switch_holding_15", "context switch, both hold the maximum (15)", None, None),
]


def boot(variant, icount, ops, passes):
    out = build.kernel_dir(variant)
    machine = qemu.Machine(cpus="1", memory="2G", cpu_model="qemu32",
                           extra=ICOUNT if icount else [])
    append = f"ktest.filter=bench.* ktest.bench_ops={ops} ktest.bench_passes={passes}"
    cmd = qemu.qemu_command(out / "himem.elf", machine, append)
    result = qemu.run(cmd, silence=300, timeout=900,
                      log_path=build.BUILD / "logs" / f"bench-{variant}-{'icount' if icount else 'tcg'}.log")
    if result.status != qemu.PASS_STATUS:
        print(qemu.tail(result.log), file=sys.stderr)
        raise SystemExit(f"himem bench: the {variant} run failed ({result.describe()})")
    values = {m["name"]: int(m["value"]) for m in BENCH_LINE.finditer(result.log)}
    tsc = TSC_LINE.search(result.log)
    return values, float(tsc["mhz"]) if tsc else None


def run(ops=100000, passes=5):
    for variant in ("release", "debug"):
        build.build_kernel(variant)
    print("himem bench: release under icount (twice), plain TCG, and debug under icount; "
          f"{ops} operations per pass, median of {passes}", flush=True)
    first, _ = boot("release", True, ops, passes)
    second, _ = boot("release", True, ops, passes)
    wall, mhz = boot("release", False, ops, passes)
    debug, _ = boot("debug", True, ops, passes)
    same = first == second
    print()
    print(f"{'operation':<52}{'instructions':>13}{'Linux':>8}{'wall ns':>10}{'Linux ns':>10}"
          f"{'debug +':>9}")
    for name, label, linux_instr, linux_ns in ROWS:
        instr = first.get(name)
        ns = wall.get(name) * 1000 / mhz if name in wall and mhz else None
        dbg = debug.get(name)
        print(f"{label:<52}{fmt(instr):>13}{fmt(linux_instr):>8}{fmt(ns):>10}{fmt(linux_ns):>10}"
              f"{fmt(dbg - instr if dbg is not None and instr is not None else None, signed=True):>9}")
    held0, held8 = first.get("context_switch_holding_0"), first.get("context_switch_holding_8")
    if held0 is not None and held8 is not None:
        print(f"\nper held mapping, save + restore: {(held8 - held0) / 8:.0f} instructions "
              f"(Linux: about 86, 43 each way)")
    print(f"icount runs identical: {'yes' if same else 'NO'}")
    if not same:
        for k in sorted(set(first) | set(second)):
            if first.get(k) != second.get(k):
                print(f"  {k}: {first.get(k)} vs {second.get(k)}")
    return 0 if same else 1


def fmt(v, signed=False):
    if v is None:
        return "-"
    return f"{v:+.0f}" if signed else f"{v:.0f}"
