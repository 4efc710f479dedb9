"""Running one configuration of the matrix and judging it (`tools/himem run-config`).

CTest runs each configuration in its own process; `run_config` runs it,
judges the run against what the configuration expects, prints the outcome
(with the tail of the log when it is not the expected one) and leaves a
result record in build/matrix/results/NAME.json for the summary.
"""

import json
import subprocess
import time

from . import build, checks, crash, gdb, ktap, logcheck, matrix, memcheck, qemu


def execute(config):
    """Run one configuration; returns (RunResult, Verdict)."""
    if config.kind == "host":
        return run_host(config)
    out = build.kernel_dir(config.variant)
    if config.kind == "gdb":
        return gdb.scripted_check(out, config.machine, config.append, timeout=config.timeout)
    if config.kind == "check":
        return checks.run(config, out)
    append = config.append
    if config.kind == "boot":
        # The kernel fails its CPU test if it finds fewer CPUs than QEMU was given.
        append = (append + " " if append else "") + f"ktest.cpus={config.cpu_count}"
    iso = qemu.make_iso(out, append) if config.boot == "iso" else None
    log_path = build.BUILD / "logs" / f"{config.name}.log"
    if config.ram_file:
        with qemu.sparse_ram(config.machine, build.BUILD / "matrix" / f"{config.name}.ram") as m:
            cmd = qemu.qemu_command(out / "himem.elf", m, append, iso=iso)
            result = qemu.run(cmd, silence=config.silence, timeout=config.timeout,
                              log_path=log_path)
    else:
        cmd = qemu.qemu_command(out / "himem.elf", config.machine, append, iso=iso)
        result = qemu.run(cmd, silence=config.silence, timeout=config.timeout, log_path=log_path)
    if config.kind == "crash":
        return result, crash.judge(result, config.crash_name, config.site, config.frames,
                                   config.report)
    verdict = ktap.judge(result)
    if verdict.passed and config.check_memory:
        mem = memcheck.check(result.log, config.memory, config.append, config.cpu_model)
        if not mem.passed:
            return result, ktap.Verdict(False, "memory map check: " + mem.reason, verdict.report)
        verdict.reason += "; " + mem.reason
    # Checked whether the run passed or not: a run expected to fail may
    # still have to say why (a refused boot).
    if config.expect_log:
        lines = logcheck.check(result.log, config.expect_log)
        if not lines.passed:
            return result, ktap.Verdict(False, "log check: " + lines.reason, verdict.report)
        verdict.reason += "; " + lines.reason
    return result, verdict


def run_host(config):
    start = time.monotonic()
    proc = subprocess.run(config.command, shell=True, cwd=matrix.ROOT, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=config.timeout)
    result = qemu.RunResult("exited", proc.returncode, proc.stdout, time.monotonic() - start)
    ok = proc.returncode == 0
    return result, ktap.Verdict(ok, "exit status 0" if ok else f"exit status {proc.returncode}",
                                None)


def record(config, result, verdict):
    """The result record of one run, as the summary reads it."""
    return {
        "name": config.name, "kind": config.kind, "variant": config.variant,
        "cpus": config.cpus, "memory": config.memory,
        "expect": config.expect, "ok": config.outcome_ok(verdict), "passed": verdict.passed,
        "reason": verdict.reason, "ending": result.ending, "status": result.status,
        "seconds": round(result.seconds, 2),
        "cases": verdict.report.counts if verdict.report else None,
    }


def run_config(config):
    """Run, judge, record and print one configuration; 0 when the outcome is
    the one expected."""
    result, verdict = execute(config)
    ok = config.outcome_ok(verdict)
    path = matrix.result_path(config.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record(config, result, verdict)))
    print(f"{config.name}: {'ok' if ok else 'FAILED'} (expected {config.expectation}; "
          f"got {'pass' if verdict.passed else 'fail'}: {verdict.reason})")
    if not ok:
        print(f"--- tail of the log ({result.describe()}) ---")
        print(qemu.tail(result.log))
    return 0 if ok else 1
