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

A benchmark never fails for being slow: each figure is printed as its line
arrives, each figure has a budget of kernel time (tests/kernel/bench.h), a
boot that QEMU's limits end or that cannot start is reported beside the
figures of the others, and the exit status is non-zero only for a wrong
result (a kernel that reports a failure, or icount runs that disagree).

--compare REF builds REF's release kernel in its own worktree under
build/compare/ and boots the two kernels interleaved (REF, this tree, REF,
...): once each under icount, then --rounds times each under plain TCG, and
prints per figure the ratio of instructions and the median ratio of wall
time, both measured in the same run.
"""

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import build, ktap, qemu

BENCH_LINE = re.compile(r"# bench: (?P<name>\S+): (?P<value>\d+) tsc/op")
TSC_LINE = re.compile(r"^time: TSC (?P<mhz>[\d.]+) MHz", re.M)
CUT_LINE = re.compile(r"# throughput: .*passes cut at (?P<ms>\d+) ms: "
                      r"kmap (?P<kmap>\d+), kmap_local (?P<local>\d+)")
PKS_GLOBAL_LINE = re.compile(r"# pks: (?P<cpus>\d+) CPU\(s\), per global pair: (?P<writes>[\d.]+) "
                             r"register writes, (?P<flushes>[\d.]+) full flushes over all CPUs; "
                             r"(?P<pairs>\d+) pairs per pass; passes cut at (?P<ms>\d+) ms: "
                             r"pair (?P<pair>\d+), halves (?P<halves>\d+), kmap (?P<kmap>\d+) "
                             r"of (?P<of>\d+)")
CASE_LINE = re.compile(r"^\s+(not )?ok \d+ ")
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

# The fast-path targets (instructions per operation, release build, 2-level
# and PAE alike), printed beside what was measured: a row over its target
# is explained in docs/performance.md ("What the remaining instructions are
# for"). "per_held_mapping" is derived from the two switch rows.
TARGETS = [
    ("kmap_local_highmem", "kmap_local pair, highmem", 50),
    ("kmap_local_lowmem", "kmap_local pair, lowmem", 25),
    ("kmap_local_nested_4", "4 nested pairs (per set)", 190),
    ("kmap_atomic_highmem", "kmap_atomic pair", 60),
    ("kmap_hit", "kmap hit", 120),
    ("kmap_miss", "kmap miss that did not wrap", 350),
    ("per_held_mapping", "switch, per held mapping", 20),
]

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


@dataclass
class Boot:
    """One QEMU boot of the bench suite, and what it gave."""
    key: str                 # its log's name, and how the tables find it
    variant: str
    icount: bool
    cpus: int = 1
    cases: str = "bench.*"
    kernel: Path | None = None   # another build's himem.elf (--compare)
    values: dict = field(default_factory=dict)
    mhz: float | None = None
    log: str = ""
    outcome: str = "not run"     # ok | slow | failed | wrong
    reason: str = ""

    def describe(self):
        mode = "icount" if self.icount else "plain TCG"
        return f"{self.variant}, {mode}, {self.cpus} CPU{'s' if self.cpus > 1 else ''}, {self.cases}"


def boot(b, ops, passes, progress=print):
    """Run one boot; every figure is printed as its line arrives. A boot
    that is slow (QEMU's limits) or cannot run is reported and left out; one
    whose kernel reports a failure is a wrong result."""
    kernel = b.kernel or build.kernel_dir(b.variant) / "himem.elf"
    machine = qemu.Machine(cpus=str(b.cpus), memory="2G", cpu_model=qemu.cpu_model_for(b.variant),
                           extra=ICOUNT if b.icount else [])
    # The watchdog counts from each pass (bench.h keeps it alive), so its
    # limit only has to cover one pass.
    append = (f"ktest.filter={b.cases} ktest.bench_ops={ops} ktest.bench_passes={passes} "
              f"ktest.timeout=600")
    cmd = qemu.qemu_command(kernel, machine, append)
    start = time.monotonic()

    def on_line(line):
        m = BENCH_LINE.search(line)
        if m:
            unit = "instructions" if b.icount else "TSC cycles"
            cut = " (cut by the budget)" if "cut by the budget" in line else ""
            progress(f"  {b.key}: {m['name']}: {m['value']} {unit}/op{cut}")
        elif CASE_LINE.match(line):
            progress(f"  {b.key}: {line.strip()} ({time.monotonic() - start:.0f} s)")

    result = qemu.run(cmd, silence=300, timeout=1200, on_line=on_line,
                      log_path=build.BUILD / "logs" / f"bench-{b.key}.log")
    b.log = result.log
    b.values = {m["name"]: int(m["value"]) for m in BENCH_LINE.finditer(result.log)}
    tsc = TSC_LINE.search(result.log)
    b.mhz = float(tsc["mhz"]) if tsc else None
    verdict = ktap.judge(result)
    if verdict.passed:
        b.outcome, b.reason = "ok", f"{result.seconds:.0f} s"
    elif result.ending != "exited":
        b.outcome, b.reason = "slow", f"{result.describe()}; figures before it kept"
    elif result.status == 1:
        b.outcome, b.reason = "failed", result.describe()
    else:
        b.outcome, b.reason = "wrong", verdict.reason
    if b.outcome != "ok":
        progress(f"himem bench: {b.key} ({b.describe()}): {b.outcome}: {b.reason}")
    return b


def plan(pae=False):
    """Every boot of a full run, in order."""
    boots = [Boot("release-icount", "release", True), Boot("release-icount-again", "release", True),
             Boot("release-tcg", "release", False), Boot("debug-icount", "debug", True)]
    if pae:
        # The PAE build on the same 2 GiB, so the rows compare the paging
        # modes and nothing else.
        boots += [Boot("pae-icount", "pae", True), Boot("pae-tcg", "pae", False)]
    for cpus in SMP_CPUS:
        boots.append(Boot(f"release-tcg-smp{cpus}", "release", False, cpus, "bench.throughput*"))
    for cpus in SMP_CPUS:
        boots.append(Boot(f"release-tcg-smp{cpus}-pks", "release", False, cpus, "bench.pks*"))
        boots.append(Boot(f"release-icount-smp{cpus}-pks", "release", True, cpus, "bench.pks*"))
    return boots


def run(ops=100000, passes=5, compare=None, rounds=3, pae=False):
    if compare:
        return run_compare(compare, ops, passes, rounds)
    for variant in ("release", "debug") + (("pae",) if pae else ()):
        build.build_kernel(variant)
    boots = plan(pae)
    print(f"himem bench: {len(boots)} boots ({ops} operations per pass, median of {passes}); "
          "each figure is printed as it comes, the tables at the end", flush=True)
    by_key = {}
    for n, b in enumerate(boots, 1):
        print(f"himem bench: [{n}/{len(boots)}] {b.describe()}", flush=True)
        by_key[b.key] = boot(b, ops, passes, progress=lambda t: print(t, flush=True))
    return report(by_key, passes)


def report(by_key, passes):
    """The tables from whatever boots worked; the exit status."""
    first = by_key["release-icount"].values
    second = by_key["release-icount-again"].values
    wall_boot = by_key["release-tcg"]
    wall, mhz = wall_boot.values, wall_boot.mhz
    debug = by_key["debug-icount"].values
    pae = "pae-icount" in by_key
    pae_instr = by_key["pae-icount"].values if pae else {}
    pae_wall = by_key["pae-tcg"] if pae else None
    print()
    print(f"{'operation':<52}{'instructions':>13}{'Linux':>8}{'wall ns':>10}{'Linux ns':>10}"
          f"{'debug +':>9}" + (f"{'PAE':>8}{'PAE ns':>9}" if pae else ""))
    for name, label, linux_instr, linux_ns in ROWS:
        instr = first.get(name)
        ns = to_ns(wall.get(name), mhz)
        dbg = debug.get(name)
        line = (f"{label:<52}{fmt(instr):>13}{fmt(linux_instr):>8}{fmt(ns):>10}{fmt(linux_ns):>10}"
                f"{fmt(dbg - instr if dbg is not None and instr is not None else None, signed=True):>9}")
        if pae:
            line += (f"{fmt(pae_instr.get(name)):>8}"
                     f"{fmt(to_ns(pae_wall.values.get(name), pae_wall.mhz)):>9}")
        print(line)
    if pae:
        print("PAE: the pae build on the same 2 GiB (64-bit entries, a pool of 512 slots, "
              "so a wrap every 512 misses); Linux's figures are its PAE kernel's")
    held0, held8 = first.get("context_switch_holding_0"), first.get("context_switch_holding_8")
    if held0 is not None and held8 is not None:
        print(f"\nper held mapping, save + restore: {(held8 - held0) / 8:.0f} instructions "
              f"(Linux: about 86, 43 each way)")
    print_targets(first, pae_instr if pae else None)
    print_kmap_notes(first)
    smp = {1: (wall, mhz, wall_boot.log)}
    pks_wall = {1: (wall, mhz, wall_boot.log)}
    pks_instr = {1: first}
    for cpus in SMP_CPUS:
        t = by_key[f"release-tcg-smp{cpus}"]
        smp[cpus] = (t.values, t.mhz, t.log)
        p = by_key[f"release-tcg-smp{cpus}-pks"]
        pks_wall[cpus] = (p.values, p.mhz, p.log)
        pks_instr[cpus] = by_key[f"release-icount-smp{cpus}-pks"].values
    print_throughput(smp, first, passes)
    print_pks(pks_instr, pks_wall)
    # Both icount runs must print the same figures, for every figure both have.
    both = set(first) & set(second)
    differ = sorted(k for k in both if first[k] != second[k])
    print(f"icount runs identical: {'yes' if not differ else 'NO'}"
          + (f" ({len(both)} figures compared)" if both else " (nothing to compare)"))
    for k in differ:
        print(f"  {k}: {first[k]} vs {second[k]}")
    return print_outcomes(list(by_key.values()), wrong=bool(differ))


def with_per_held(values):
    v = dict(values)
    h0, h8 = v.get("context_switch_holding_0"), v.get("context_switch_holding_8")
    if h0 is not None and h8 is not None:
        v["per_held_mapping"] = round((h8 - h0) / 8)
    return v


def print_targets(instr, pae_instr):
    """Each target beside the figure measured; a miss is reported, not failed."""
    builds = [("2-level", with_per_held(instr))]
    if pae_instr is not None:
        builds.append(("PAE", with_per_held(pae_instr)))
    print("\ntargets (release build, instructions per operation; a row over its target is "
          "explained in docs/performance.md)")
    print(f"{'operation':<30}{'target':>8}" + "".join(f"{b:>14}" for b, _ in builds))
    for name, label, target in TARGETS:
        cells = ""
        for _, values in builds:
            v = values.get(name)
            cells += f"{'-' if v is None else f'{v} ' + ('met' if v <= target else 'over'):>14}"
        print(f"{label:<30}{'<= ' + str(target):>8}{cells}")


def print_outcomes(boots, wrong=False):
    """The boots that did not work, beside the figures of those that did;
    non-zero only for a wrong result."""
    bad = [b for b in boots if b.outcome != "ok"]
    if bad:
        print("\nconfigurations left out or failed (their figures, if any, are above):")
        for b in bad:
            print(f"  {b.key} ({b.describe()}): {b.outcome}: {b.reason}")
    wrong = wrong or any(b.outcome == "wrong" for b in boots)
    print(f"himem bench: {sum(b.outcome == 'ok' for b in boots)} of {len(boots)} boots ok"
          + ("; a WRONG result (see above)" if wrong else ""))
    return 1 if wrong else 0


# ---- --compare REF: another revision's kernel, booted interleaved with this one ----

def build_revision(ref):
    """Build `ref`'s release kernel in its own worktree under build/compare/;
    its himem.elf."""
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=build.ROOT,
                         text=True, capture_output=True)
    if sha.returncode != 0:
        raise SystemExit(f"himem bench: --compare {ref}: not a revision ({sha.stderr.strip()})")
    commit = sha.stdout.strip()
    src = build.BUILD / "compare" / commit[:12]
    if not (src / ".git").exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(src), commit], cwd=build.ROOT,
                       check=True, stdout=subprocess.DEVNULL)
    out = src / "build" / "release"
    if not (out / "CMakeCache.txt").exists():
        subprocess.run(["cmake", "-S", str(src), "-B", str(out), "-DHIMEM_DEBUG=OFF"], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(out), f"-j{os.cpu_count() or 2}"], check=True,
                   stdout=subprocess.DEVNULL)
    return commit, out / "himem.elf"


def compare_plan(ref_kernel, rounds):
    """Interleaved: REF then this tree, once under icount (deterministic),
    then `rounds` times under plain TCG."""
    boots = [Boot("ref-icount", "release", True, kernel=ref_kernel),
             Boot("this-icount", "release", True)]
    for r in range(1, rounds + 1):
        boots += [Boot(f"ref-tcg-{r}", "release", False, kernel=ref_kernel),
                  Boot(f"this-tcg-{r}", "release", False)]
    return boots


def run_compare(ref, ops, passes, rounds):
    build.build_kernel("release")
    commit, ref_kernel = build_revision(ref)
    boots = compare_plan(ref_kernel, rounds)
    print(f"himem bench --compare {ref} ({commit[:12]}): {len(boots)} boots, interleaved; "
          f"{ops} operations per pass, median of {passes}", flush=True)
    for n, b in enumerate(boots, 1):
        who = f"{ref}" if b.kernel else "this tree"
        print(f"himem bench: [{n}/{len(boots)}] {who}: {b.describe()}", flush=True)
        boot(b, ops, passes, progress=lambda t: print(t, flush=True))
    print_comparison(ref, boots)
    return print_outcomes(boots)


def ratios(boots, ref, rounds_of):
    """{name: (ref, this, ratio)} for the icount pair, and for the TCG rounds
    {name: [per-round ratio of wall time]}."""
    by_key = {b.key: b for b in boots}
    icount = {}
    r, t = by_key["ref-icount"].values, by_key["this-icount"].values
    for name in sorted(set(r) & set(t)):
        icount[name] = (r[name], t[name], t[name] / r[name] if r[name] else None)
    wall = {}
    for k in range(1, rounds_of + 1):
        rb, tb = by_key.get(f"ref-tcg-{k}"), by_key.get(f"this-tcg-{k}")
        if not rb or not tb or not rb.mhz or not tb.mhz:
            continue
        for name in set(rb.values) & set(tb.values):
            rn, tn = to_ns(rb.values[name], rb.mhz), to_ns(tb.values[name], tb.mhz)
            if rn:
                wall.setdefault(name, []).append(tn / rn)
    return icount, wall


def print_comparison(ref, boots):
    rounds = sum(1 for b in boots if b.key.startswith("this-tcg-"))
    icount, wall = ratios(boots, ref, rounds)
    print(f"\nthis tree against {ref}: instructions (icount) and wall time (plain TCG, "
          f"the median of {rounds} interleaved rounds' ratios); below 1 is faster")
    print(f"{'figure':<34}{'ref instr':>11}{'this':>9}{'ratio':>8}{'wall ratio':>12}  rounds")
    for name in sorted(set(icount) | set(wall)):
        r, t, ratio = icount.get(name, (None, None, None))
        w = sorted(wall.get(name, []))
        med = w[len(w) // 2] if w else None
        print(f"{name:<34}{fmt(r):>11}{fmt(t):>9}{fmt_ratio(ratio):>8}{fmt_ratio(med):>12}  "
              + " ".join(f"{x:.2f}" for x in wall.get(name, [])))


def fmt_ratio(v):
    return "-" if v is None else f"{v:.2f}"


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
