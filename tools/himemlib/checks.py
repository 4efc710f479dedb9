"""The scripted checks of the matrix (`kind = "check"`, `check = NAME`).

  gdb_helpers     the GDB helpers against the kernel's own dump (gdb_session.py)
  repeat          two icount boots (`icount = true`): both pass, and their
                  serial logs are the same, byte for byte
  record_replay   a one-CPU recording and its replay: the same serial log
  rerun           two icount boots under GDB stopped at the same breakpoint
                  hit: every CPU's registers and counters the same
  worked_session  docs/debugging.md's transcript, regenerated and compared
"""

import time

from . import build, gdb_session, ktap, qemu, replay, worked_session
from .ktap import Verdict


def boot_append(config):
    return (config.append + " " if config.append else "") + f"ktest.cpus={config.cpu_count}"


def gdb_helpers(config, out):
    return gdb_session.run(out, config.machine, config.append, timeout=config.timeout)


def repeat(config, out):
    if not config.icount:
        return (qemu.RunResult("exited", None, "", 0.0),
                Verdict(False, "check 'repeat' needs icount = true", None))
    cmd = qemu.qemu_command(out / "himem.elf", config.machine,
                            replay.deterministic(boot_append(config)))
    runs = []
    notes = []
    # Two boots must agree; one more is allowed when they do not, and the
    # verdict says so (QEMU 7.2's round-robin can still be moved by the host:
    # docs/smp.md, "When two boots differ").
    for n in (1, 2, 3):
        log_path = build.BUILD / "logs" / f"{config.name}.{n}.log"
        result = qemu.run(cmd, silence=config.silence, timeout=config.timeout / 3,
                          log_path=log_path)
        verdict = ktap.judge(result)
        if not verdict.passed:
            return result, Verdict(False, f"boot {n}: {verdict.reason}", verdict.report)
        runs.append(result)
        if n == 1:
            continue
        previous = runs[-2]
        seconds = sum(r.seconds for r in runs)
        if previous.log == result.log:
            both = qemu.RunResult("exited", result.status, result.log, seconds)
            verdict.reason += (f"; boots {n - 1} and {n} printed identical logs "
                               f"({len(result.log)} bytes)" + "".join(notes))
            return both, verdict
        at = replay.first_difference(previous.log, result.log)
        notes.append(f"; boots {n - 1} and {n} differed at line "
                     f"{previous.log[:at].count(chr(10)) + 1}")
    return (qemu.RunResult("exited", runs[-1].status, runs[-1].log, sum(r.seconds for r in runs)),
            Verdict(False, "no two consecutive boots printed the same log" + "".join(notes),
                    verdict.report))


def record_replay(config, out):
    where = build.BUILD / "rr-matrix"
    status, recorded = replay.record(config.variant, config.memory, config.append, where=where,
                                     timeout=config.timeout / 2)
    result, verdict = replay.replay(where, timeout=config.timeout / 2)
    if verdict.passed:
        judged = ktap.judge(result)
        if not judged.passed:
            return result, Verdict(False, f"the recorded run failed: {judged.reason}", None)
        verdict.reason += f"; recorded in {recorded:.1f}s, replayed in {result.seconds:.1f}s"
    result.seconds += recorded
    return result, verdict


# Where the SMP rerun stops: the first time either CPU takes the lock in
# smp.spinlock_stress, with both CPUs hammering it. What it compares: each
# CPU's registers and the helpers' view. Only a first hit repeats: GDB
# counts an ignore count's hits by stopping the machine at each, and every
# stop and resume moves QEMU's timers against the instruction count (two
# reruns stopped at the 50th switch with 28 and 29 ticks on CPU 0).
def rerun_break():
    """smp_test.cpp's line where hammer() takes the lock, found by its text."""
    lines = (build.ROOT / "tests" / "kernel" / "smp_test.cpp").read_text().split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("void hammer("))
    line = next(i for i in range(start, len(lines)) if "SpinlockGuard guard(s->lock);" in lines[i])
    return f"smp_test.cpp:{line + 1}", 1
RERUN_COMMANDS = ["info threads", "thread apply all info registers eip esp ebp eflags eax ecx edx",
                  "himem cpus", "himem tasks", "print x86::cpu_data[0].timer_ticks",
                  "print x86::cpu_data[1].timer_ticks"]


def rerun(config, out):
    start = time.monotonic()
    outputs = []
    # As in `repeat`: a third run when the first two disagree, said in the verdict.
    for n in (1, 2, 3):
        text = replay.rerun_gdb_batch(config.variant, config.cpus, config.memory,
                                      boot_append(config), *rerun_break(), RERUN_COMMANDS,
                                      timeout=config.timeout / 3)
        if text is None:
            return (qemu.RunResult("timeout", None, "", time.monotonic() - start),
                    Verdict(False, "GDB did not reach the breakpoint in time", None))
        outputs.append(text[text.find("Breakpoint 1,"):] if "Breakpoint 1," in text else "")
        result = qemu.RunResult("exited", 0, "\n=== next ===\n".join(outputs),
                                time.monotonic() - start)
        if not outputs[0] or "CPU#1" not in outputs[0]:
            return result, Verdict(False, "the rerun did not stop at the breakpoint on 2 CPUs",
                                   None)
        if n > 1 and outputs[-1] == outputs[-2]:
            note = "" if n == 2 else "; runs 1 and 2 had stopped in different states"
            return result, Verdict(True, f"reruns {n - 1} and {n} stopped at {rerun_break()[0]} "
                                         f"with the same registers and counters on every CPU"
                                         + note, None)
    return result, Verdict(False, "no two consecutive reruns stopped in the same state", None)


def worked(config, out):
    return worked_session.check(timeout=config.timeout)


CHECKS = {"gdb_helpers": gdb_helpers, "repeat": repeat, "record_replay": record_replay,
          "rerun": rerun, "worked_session": worked}


def run(config, out):
    fn = CHECKS.get(config.check)
    if fn is None:
        return (qemu.RunResult("exited", None, "", 0.0),
                Verdict(False, f"unknown check '{config.check}' (one of {', '.join(CHECKS)})",
                        None))
    return fn(config, out)
