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
    cmd = qemu.qemu_command(out / "himem.elf", config.machine, boot_append(config))
    runs = []
    for n in (1, 2):
        log_path = build.BUILD / "logs" / f"{config.name}.{n}.log"
        result = qemu.run(cmd, silence=config.silence, timeout=config.timeout / 2,
                          log_path=log_path)
        verdict = ktap.judge(result)
        if not verdict.passed:
            return result, Verdict(False, f"boot {n}: {verdict.reason}", verdict.report)
        runs.append((result, verdict))
    (first, verdict), (second, _) = runs
    both = qemu.RunResult("exited", second.status, second.log, first.seconds + second.seconds)
    if first.log != second.log:
        at = replay.first_difference(first.log, second.log)
        line = first.log[:at].count("\n") + 1
        return both, Verdict(False, f"the two boots' serial logs differ at line {line} "
                                    f"(byte {at})", verdict.report)
    verdict.reason += f"; two boots, identical logs ({len(first.log)} bytes)"
    return both, verdict


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
    for _ in (1, 2):
        text = replay.rerun_gdb_batch(config.variant, config.cpus, config.memory,
                                      boot_append(config), *rerun_break(), RERUN_COMMANDS,
                                      timeout=config.timeout / 2)
        if text is None:
            return (qemu.RunResult("timeout", None, "", time.monotonic() - start),
                    Verdict(False, "GDB did not reach the breakpoint in time", None))
        outputs.append(text[text.find("Breakpoint 1,"):] if "Breakpoint 1," in text else "")
    result = qemu.RunResult("exited", 0, "\n=== second ===\n".join(outputs),
                            time.monotonic() - start)
    if not outputs[0] or "CPU#1" not in outputs[0]:
        return result, Verdict(False, "the rerun did not stop at the breakpoint on 2 CPUs", None)
    if outputs[0] != outputs[1]:
        return result, Verdict(False, "the two reruns stopped in different states", None)
    return result, Verdict(True, f"two reruns stopped at {rerun_break()[0]} with the same "
                                 f"registers and counters on every CPU", None)


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
