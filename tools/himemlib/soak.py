"""tools/himem soak: the kmap_local, kmap() and notifier stress together, for minutes.

Boots the manual `soak` suite (tests/kernel/soak.cpp) on --cpus CPUs with
ktest.soak_seconds from --minutes, shows the kernel's report every 10 s as it
comes, and passes only when the kernel's verdict line says PASS on the CPUs
asked for and the KTAP judge agrees (the pass status, whole KTAP, the case
ok). Not part of the matrix, which runs a 10 s smoke of it (`soak-smoke`).

A hang is the kernel's to report: each report keeps its watchdog alive, so
the watchdog (ktest.timeout, 60 s) fires within a minute of the last report
and prints every CPU's call trace. QEMU is killed only after SILENCE seconds
without a line, which leaves the watchdog time to do so, or once the soak
plus boot and teardown is over (too slow).
"""

import re
import sys

from . import build, ktap, qemu

# The case's diagnostics, indented under it (not the suite's "# soak: pass:1 ...").
REPORT = re.compile(r"^ +# (?P<text>soak: .*)$")
VERDICT = re.compile(r"^ +# soak: (?P<text>(?P<word>PASS|FAIL) after (?P<seconds>\d+) s "
                     r"on (?P<cpus>\d+) CPUs: .*)$", re.M)
QEMU_SLACK = 300       # boot, setup, teardown, on a busy host
SILENCE = 150          # the watchdog's 60 s after a 10 s report gap, and its traces
MAX_MINUTES = 24 * 60  # the kernel's own limit


def append_for(seconds):
    return f"ktest.filter=soak.* ktest.soak_seconds={seconds}"


def judge(result, cpus):
    """(passed, verdict): the kernel's soak verdict, checked by the KTAP judge.

    The verdict reads "PASS after 600 s on 8 CPUs: <counts>", or "FAIL ..."
    with the kernel's reason and the judge's, or "FAIL: <why>" when the
    kernel gave none (a hang, a crash)."""
    ktap_verdict = ktap.judge(result)
    verdicts = list(VERDICT.finditer(result.log))
    said = verdicts[-1] if verdicts else None
    if not ktap_verdict.passed:
        if said:
            return False, f"{said['text']}; {ktap_verdict.reason}"
        return False, f"FAIL: {ktap_verdict.reason}"
    if said is None:
        return False, "FAIL: the kernel printed no soak verdict (did the soak suite run?)"
    if said["word"] != "PASS":
        return False, said["text"]
    if int(said["cpus"]) != cpus:
        return False, f"FAIL: it ran on {said['cpus']} CPUs, not the {cpus} asked for"
    return True, f"{said['text']} ({ktap_verdict.reason})"


def run(cpus=4, minutes=10.0, memory="2G", debug=False):
    if not 0 < minutes <= MAX_MINUTES:
        print(f"himem soak: --minutes must be above 0 and at most {MAX_MINUTES}", file=sys.stderr)
        return 2
    seconds = max(1, round(minutes * 60))
    out = build.build_kernel("debug" if debug else "release")
    machine = qemu.Machine(cpus=str(cpus), memory=memory)
    cmd = qemu.qemu_command(out / "himem.elf", machine, append_for(seconds))
    log_path = build.BUILD / "logs" / "soak.log"
    print(f"himem soak: {cpus} CPUs, {memory}, {seconds} s, "
          f"{'debug' if debug else 'release'} build; full log in {log_path}", flush=True)

    def show(line):
        if m := REPORT.match(line):
            print(m["text"], flush=True)

    result = qemu.run(cmd, silence=SILENCE, timeout=seconds + QEMU_SLACK, on_line=show,
                      log_path=log_path)
    passed, verdict = judge(result, cpus)
    if not passed:
        print(f"--- tail of the log ({result.describe()}) ---", file=sys.stderr)
        print(qemu.tail(result.log), file=sys.stderr)
    print(f"himem soak: {verdict}, {result.seconds:.0f}s in all", file=sys.stderr)
    return 0 if passed else 1
