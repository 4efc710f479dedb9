"""tools/himem bench: kmap_local, kmap and friends measured against Linux's figures.

Boots the manual `bench` suite (tests/kernel/bench.cpp) under QEMU with the
anchor's machine (-M pc -cpu qemu32 -m 2G, one CPU):
  - twice under -icount shift=0,sleep=off (instructions per operation; the
    two runs must agree exactly),
  - once under plain TCG (TSC cycles per operation, turned into nanoseconds
    with the TSC frequency the kernel calibrated),
  - once more under icount with the debug build (its cost on top),
then the throughput case alone, and the protection-key cases alone
(tests/kernel/bench_pks.cpp), with -smp 2, 4 and 8 under plain TCG (the
one-CPU boots give the one-CPU rows). The throughput case not under icount:
there QEMU runs the vCPUs one at a time, and an AP can stall in its idle
loop until an NMI wakes it (docs/performance.md). The protection-key cases
wake no thread on another CPU, only call the idle ones, and do run under
icount with 2, 4 and 8 CPUs: those boots count the instructions of every
CPU (the TSC follows QEMU's one instruction counter); one that fails is
reported and left out of the table.
Linux's figures are from shared/reference/linux-perf-anchor.md (6.1, PAE,
same QEMU): numbers to compare, never asserted.
"""

import os
import re
import sys

from . import build, qemu

BENCH_LINE = re.compile(r"# bench: (?P<name>\S+): (?P<value>\d+) tsc/op")
TSC_LINE = re.compile(r"^time: TSC (?P<mhz>[\d.]+) MHz", re.M)
CUT_LINE = re.compile(r"# throughput: .*passes cut at (?P<ms>\d+) ms: "
                      r"kmap (?P<kmap>\d+), kmap_local (?P<local>\d+)")
PKS_GLOBAL_LINE = re.compile(r"# pks: (?P<cpus>\d+) CPU\(s\), per global pair: (?P<writes>[\d.]+) "
                             r"register writes, (?P<flushes>[\d.]+) full flushes over all CPUs; "
                             r"(?P<pairs>\d+) pairs per pass; passes cut at (?P<ms>\d+) ms: "
                             r"pair (?P<pair>\d+), halves (?P<halves>\d+), kmap (?P<kmap>\d+) "
                             r"of (?P<of>\d+)")
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
    ("kmap_hit", "kmap + store + kunmap, page already in a slot (hit)", 301, 528),
    ("kmap_miss_amortized", "kmap + store + kunmap, every op a miss, wraps incl.", 662, 985),
    ("kmap_miss", "  the median miss that did not wrap", None, None),
    ("kmap_wrap_op", "  the one op that wrapped and flushed", 71500, 78000),
]
SMP_CPUS = (2, 4, 8)

# Protection keys (bench_pks.cpp): name without its "_cpusN" -> label. No
# Linux figures: the anchor has none for PKS.
PKS_ROWS = [
    ("pks_thread_pair", "thread-local pair: pks_mk_readwrite + pks_mk_noaccess"),
    ("pks_dev_page_pair", "thread-local pair: dev_page_enable/disable_access(page, false)"),
    ("pks_global_pair", "global pair: dev_page_enable/disable_access(page, true)"),
    ("pks_global_grant", "  the grant alone (median)"),
    ("pks_global_revoke", "  the revocation alone (median)"),
    ("pks_kmap_local_unkeyed", "kmap_local + store + kunmap_local, unkeyed highmem page"),
    ("pks_kmap_local_keyed", "  the same, keyed page"),
    ("pks_kmap_unkeyed", "kmap + store + kunmap (a hit), unkeyed page"),
    ("pks_kmap_keyed", "  the same, keyed page (a hit plus a global pair)"),
]
HIMEM_SLOTS = 1024  # LAST_PKMAP: a wrap every 1024 misses
LINUX_SLOTS = 512   # its PAE pool's


def boot(variant, icount, ops, passes, cpus=1, cases="bench.*", tag="", required=True):
    """One boot: {bench name: tsc/op}, the TSC MHz, and the serial log; None
    for a failed boot that is not required."""
    out = build.kernel_dir(variant)
    machine = qemu.Machine(cpus=str(cpus), memory="2G", cpu_model="qemu32",
                           extra=ICOUNT if icount else [])
    # The watchdog's limit per case as generous as QEMU's for the whole boot:
    # on a busy host an 8-CPU throughput case alone can pass the default 60 s.
    append = (f"ktest.filter={cases} ktest.bench_ops={ops} ktest.bench_passes={passes} "
              f"ktest.timeout=600")
    cmd = qemu.qemu_command(out / "himem.elf", machine, append)
    name = f"bench-{variant}-{'icount' if icount else 'tcg'}" + (f"-smp{cpus}" if cpus > 1 else "")
    name += f"-{tag}" if tag else ""   # each boot its own log
    result = qemu.run(cmd, silence=300, timeout=900, log_path=build.BUILD / "logs" / f"{name}.log")
    if result.status != qemu.PASS_STATUS:
        print(qemu.tail(result.log), file=sys.stderr)
        if not required:
            print(f"himem bench: the {name} run failed ({result.describe()}); left out",
                  file=sys.stderr)
            return None
        raise SystemExit(f"himem bench: the {name} run failed ({result.describe()})")
    values = {m["name"]: int(m["value"]) for m in BENCH_LINE.finditer(result.log)}
    tsc = TSC_LINE.search(result.log)
    return values, float(tsc["mhz"]) if tsc else None, result.log


def run(ops=100000, passes=5):
    for variant in ("release", "debug"):
        build.build_kernel(variant)
    print("himem bench: release under icount (twice), plain TCG, and debug under icount; "
          f"then throughput and protection keys with {', '.join(map(str, SMP_CPUS))} CPUs "
          "under plain TCG, and protection keys with as many under icount; "
          f"{ops} operations per pass, median of {passes}", flush=True)
    first, _, _ = boot("release", True, ops, passes)
    second, _, _ = boot("release", True, ops, passes)
    wall, mhz, wall_log = boot("release", False, ops, passes)
    debug, _, _ = boot("debug", True, ops, passes)
    smp = {1: (wall, mhz, wall_log)}
    for cpus in SMP_CPUS:
        smp[cpus] = boot("release", False, ops, passes, cpus=cpus, cases="bench.throughput*")
    pks_wall = {1: (wall, mhz, wall_log)}
    pks_instr = {1: first}
    for cpus in SMP_CPUS:
        pks_wall[cpus] = boot("release", False, ops, passes, cpus=cpus, cases="bench.pks*",
                              tag="pks")
        counted = boot("release", True, ops, passes, cpus=cpus, cases="bench.pks*", tag="pks",
                       required=False)
        pks_instr[cpus] = counted[0] if counted else {}
    same = first == second
    print()
    print(f"{'operation':<52}{'instructions':>13}{'Linux':>8}{'wall ns':>10}{'Linux ns':>10}"
          f"{'debug +':>9}")
    for name, label, linux_instr, linux_ns in ROWS:
        instr = first.get(name)
        ns = to_ns(wall.get(name), mhz)
        dbg = debug.get(name)
        print(f"{label:<52}{fmt(instr):>13}{fmt(linux_instr):>8}{fmt(ns):>10}{fmt(linux_ns):>10}"
              f"{fmt(dbg - instr if dbg is not None and instr is not None else None, signed=True):>9}")
    held0, held8 = first.get("context_switch_holding_0"), first.get("context_switch_holding_8")
    if held0 is not None and held8 is not None:
        print(f"\nper held mapping, save + restore: {(held8 - held0) / 8:.0f} instructions "
              f"(Linux: about 86, 43 each way)")
    print_kmap_notes(first)
    print_throughput(smp, first, passes)
    print_pks(pks_instr, pks_wall)
    print(f"icount runs identical: {'yes' if same else 'NO'}")
    if not same:
        for k in sorted(set(first) | set(second)):
            if first.get(k) != second.get(k):
                print(f"  {k}: {first.get(k)} vs {second.get(k)}")
    return 0 if same else 1


def print_kmap_notes(instr):
    """The pools differ in size, so compare per miss and per wrap."""
    miss, wrap = instr.get("kmap_miss"), instr.get("kmap_wrap_op")
    if miss is None or wrap is None:
        return
    linux_miss = 662 - 71500 / LINUX_SLOTS
    print(f"\nkmap pool: himem wraps every {HIMEM_SLOTS} misses, Linux every {LINUX_SLOTS}. "
          f"Per miss without its wrap: {miss} (Linux, derived: 662 - 71,500/{LINUX_SLOTS} "
          f"= {linux_miss:.0f});")
    # A wrap clears every slot and comes once per pool-size misses, so its
    # share per miss is also its cost per slot, whatever the pool's size.
    print(f"per wrap: {wrap} (Linux ~71,500); per slot cleared, which is also the wrap's share "
          f"of each miss: {wrap / HIMEM_SLOTS:.0f} (Linux {71500 / LINUX_SLOTS:.0f})")


def print_throughput(smp, instr, passes):
    """CPUs x (kmap, kmap_local): wall ns per op over all CPUs, plain TCG."""
    print("\nevery online CPU mapping its own pages at once (plain TCG; wall ns per op, over all CPUs)")
    print(f"{'CPUs':>4}{'kmap ns/op':>12}{'kmap_local ns/op':>18}{'ratio':>8}"
          f"{'passes cut by the budget':>26}")
    for cpus, (values, mhz, log) in sorted(smp.items()):
        kmap = values.get(f"throughput_kmap_cpus{cpus}")
        local = values.get(f"throughput_kmap_local_cpus{cpus}")
        kmap_ns, local_ns = to_ns(kmap, mhz), to_ns(local, mhz)
        ratio = f"{kmap_ns / local_ns:.1f}" if kmap_ns and local_ns else "-"
        cut = CUT_LINE.search(log)
        cut_text = (f"{cut['kmap']} and {cut['local']} of {passes + 1}, {cut['ms']} ms" if cut else "-")
        print(f"{cpus:>4}{fmt(kmap_ns):>12}{fmt(local_ns):>18}{ratio:>8}{cut_text:>26}")
    k1, l1 = instr.get("throughput_kmap_cpus1"), instr.get("throughput_kmap_local_cpus1")
    if k1 is not None and l1 is not None:
        print(f"one CPU under icount: kmap {k1}, kmap_local {l1} instructions per op")
    host = os.cpu_count() or 0
    print(f"this host has {host} core(s): with more CPUs than that, the wall times also measure "
          "oversubscription\n(vCPU threads waiting for host time slices; the pool's ticket lock "
          "hands over only to the vCPU next in line)")


def print_pks(instr, wall):
    """Protection keys on 1-8 CPUs: instructions (icount) and wall ns (plain
    TCG) per op; {cpus: values} and {cpus: (values, mhz, log)}."""
    cpus = sorted(wall)

    def table(title, value):
        print(f"\n{title}")
        heads = "".join(f"{f'{c} CPU' + ('s' if c > 1 else ''):>10}" for c in cpus)
        print(f"{'operation':<66}{heads}")
        for name, label in PKS_ROWS:
            print(f"{label:<66}" + "".join(f"{fmt(value(c, f'{name}_cpus{c}')):>10}" for c in cpus))

    print("\nprotection keys: the case on CPU 0, the other CPUs idle (a global revocation calls "
          "each of them)")
    table("instructions per op (icount; with more than one CPU, every CPU's instructions)",
          lambda c, k: instr.get(c, {}).get(k))
    table("wall ns per op (plain TCG)", lambda c, k: to_ns(wall[c][0].get(k), wall[c][1]))

    def ratio(a, b):
        return f"{a / b:.0f}x" if a is not None and b else "-"

    def pair_ratio(values, c):
        return ratio(values.get(f"pks_global_pair_cpus{c}"), values.get(f"pks_thread_pair_cpus{c}"))

    print("global pair / thread-local pair (pks_mk_*): instructions "
          + ", ".join(f"{c} CPU(s) {pair_ratio(instr.get(c, {}), c)}" for c in cpus)
          + "; wall " + ", ".join(f"{c} CPU(s) {pair_ratio(wall[c][0], c)}" for c in cpus))
    keyed = instr[1].get("pks_kmap_local_keyed_cpus1")
    unkeyed = instr[1].get("pks_kmap_local_unkeyed_cpus1")
    if keyed is not None and unkeyed is not None:
        print(f"a key adds {keyed - unkeyed} instructions to a kmap_local pair "
              f"({keyed} against {unkeyed})")
    for c in cpus:
        m = PKS_GLOBAL_LINE.search(wall[c][2])
        if m:
            print(f"{c} CPU(s): per global pair {m['writes']} register writes and "
                  f"{m['flushes']} full flushes over all CPUs; {m['pairs']} global pairs per "
                  f"pass, passes cut at {m['ms']} ms: pair {m['pair']}, halves {m['halves']}, "
                  f"kmap {m['kmap']} of {m['of']}")


def to_ns(tsc, mhz):
    return tsc * 1000 / mhz if tsc is not None and mhz else None


def fmt(v, signed=False):
    if v is None:
        return "-"
    return f"{v:+.0f}" if signed else f"{v:.0f}"
