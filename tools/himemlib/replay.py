"""Record and replay (one CPU) and deterministic reruns (any number of CPUs).

QEMU records a one-CPU run (`-icount shift=0,rr=record`) with a snapshot at
the start in a qcow2 image, so that GDB's reverse execution works in the
replay; it refuses record/replay with more than one CPU ("Record/replay
feature is not supported for 'smp'"). For several CPUs, an icount boot is
itself deterministic (docs/smp.md): `rerun` boots it again and the same
instruction runs at the same count, so a breakpoint with an ignore count
stops at the same point every time.

A recording lives in build/rr/: the kernel image it ran (copied, so a
rebuild does not invalidate it), the QEMU arguments, the event log, the
snapshot image and the serial log.
"""

import json
import shutil
import subprocess
import time

from . import build, gdb, qemu
from .ktap import Verdict

RR = build.BUILD / "rr"
RERUN = build.BUILD / "rerun"
RTC = ["-rtc", "base=2024-01-01T00:00:00,clock=vm"]


def rr_command(where, meta, mode, serial, gdb_socket=None):
    machine = qemu.Machine(cpus="1", memory=meta["memory"], cpu_model=meta["cpu_model"],
                           extra=["-icount", f"shift=0,rr={mode},rrfile={where / 'events.bin'},"
                                             "rrsnapshot=init",
                                  "-drive", f"file={where / 'snapshots.qcow2'},if=none,id=rr",
                                  "-net", "none"] + RTC)
    cmd = qemu.qemu_command(where / "himem.elf", machine, meta["append"], gdb_socket=gdb_socket,
                            paused=gdb_socket is not None)
    cmd[cmd.index("stdio")] = f"file:{serial}"
    return cmd


def run_to_exit(cmd, timeout):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        err = proc.communicate(timeout=timeout)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        qemu.kill_group(proc)
        proc.wait()
        return None, "", time.monotonic() - start
    return proc.returncode, err, time.monotonic() - start


def record(variant, memory, append, where=RR, timeout=300):
    """Record one run; returns (status, seconds) and leaves the recording in `where`."""
    out = build.kernel_dir(variant)
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    shutil.copy(out / "himem.elf", where / "himem.elf")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(where / "snapshots.qcow2"), "16M"],
                   check=True)
    meta = {"variant": variant, "memory": memory, "cpu_model": qemu.cpu_model_for(variant),
            "append": append}
    (where / "meta.json").write_text(json.dumps(meta, indent=1))
    status, err, seconds = run_to_exit(rr_command(where, meta, "record", where / "record.log"), timeout)
    if status is None or status not in (qemu.PASS_STATUS, qemu.FAIL_STATUS):
        raise SystemExit(f"himem: the recording did not end with the kernel's word "
                         f"(status {status}): {err.strip()}")
    meta["status"] = status
    (where / "meta.json").write_text(json.dumps(meta, indent=1))
    return status, seconds


def replay(where=RR, timeout=300):
    """Replay the recording without GDB; returns (RunResult, Verdict): the
    serial log must be the recorded one, byte for byte, and so the status."""
    meta = json.loads((where / "meta.json").read_text())
    serial = where / "replay.log"
    serial.unlink(missing_ok=True)
    status, err, seconds = run_to_exit(rr_command(where, meta, "replay", serial), timeout)
    log = serial.read_text(errors="replace") if serial.exists() else ""
    recorded = (where / "record.log").read_text(errors="replace")
    result = qemu.RunResult("exited" if status is not None else "timeout", status, log, seconds)
    if status is None:
        return result, Verdict(False, f"the replay did not end within {timeout}s", None)
    if status != meta["status"]:
        return result, Verdict(False, f"the replay ended with status {status}, the recording "
                                      f"with {meta['status']}: {err.strip()}", None)
    if log != recorded:
        return result, Verdict(False, f"the replay's serial log differs from the recording's "
                                      f"at byte {first_difference(log, recorded)}", None)
    return result, Verdict(True, f"replay identical to the recording ({len(log)} bytes of "
                                 f"serial log, status {status})", None)


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def replay_gdb_command(where, socket, serial):
    meta = json.loads((where / "meta.json").read_text())
    return rr_command(where, meta, "replay", serial, gdb_socket=socket)


def start_replay_for_gdb(where, socket, serial):
    return gdb.start_with_socket(replay_gdb_command(where, socket, serial), socket)


def gdb_args(elf, socket):
    return ["gdb", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", f"file {elf}", "-x", str(gdb.HELPERS), "-ex", f"target remote {socket}"]


def replay_interactive(where=RR):
    socket = where / "gdb.sock"
    proc = start_replay_for_gdb(where, socket, where / "replay-gdb.log")
    print(f"himem: replaying {where} paused; reverse-stepi, reverse-continue and watchpoints work")
    try:
        return subprocess.call(gdb_args(where / "himem.elf", socket) + ["-q"])
    finally:
        qemu.kill_group(proc)
        proc.wait()


# ---- reruns of deterministic SMP boots --------------------------------------------

# A vCPU that halts hands the virtual clock to QEMU's main loop until a
# timer wakes it, and when every vCPU halts, the main loop's timing (the
# host's) decides where the round-robin resumes: repeated icount boots then
# differ now and then. Polling idle CPUs keep the clock with the
# instruction count (docs/smp.md, "When two boots differ").
DETERMINISTIC_ARGS = "idle=poll"


def deterministic(append):
    """Kernel arguments for an icount boot that must repeat exactly."""
    return f"{append} {DETERMINISTIC_ARGS}".strip()


def rerun_machine(cpus, memory, variant):
    return qemu.Machine(cpus=cpus, memory=memory, cpu_model=qemu.cpu_model_for(variant),
                        extra=list(qemu.ICOUNT))


def rerun(variant, cpus, memory, append, timeout=600):
    """Boot under icount and compare the log with the last rerun of the same
    kernel arguments; returns (RunResult, the previous log or None)."""
    out = build.kernel_dir(variant)
    cmd = qemu.qemu_command(out / "himem.elf", rerun_machine(cpus, memory, variant),
                            deterministic(append))
    RERUN.mkdir(parents=True, exist_ok=True)
    key = RERUN / ("last-" + "".join(c if c.isalnum() else "_" for c in
                                     f"{variant}-{cpus}-{memory}-{append}")[:120] + ".log")
    previous = key.read_text() if key.exists() else None
    result = qemu.run(cmd, silence=120, timeout=timeout, echo=True)
    key.write_text(result.log)
    return result, previous


def rerun_gdb_batch(variant, cpus, memory, append, location, hit, commands, timeout=300):
    """Boot under icount with GDB, stop at the `hit`-th time `location` is
    reached, run `commands`; returns GDB's output (None on a timeout)."""
    out = build.kernel_dir(variant)
    RERUN.mkdir(parents=True, exist_ok=True)
    socket = RERUN / f"gdb-{time.monotonic_ns()}.sock"
    proc = gdb.start_paused_qemu(out, rerun_machine(cpus, memory, variant), deterministic(append),
                                 socket,
                                 RERUN / "gdb-serial.log")
    cmd = gdb_args(out / "himem.elf", socket) + ["-batch", "-ex", f"hbreak {location}"]
    if hit > 1:
        cmd += ["-ex", f"ignore 1 {hit - 1}"]
    cmd += ["-ex", "continue"]
    for c in commands:
        cmd += ["-ex", c]
    cmd += ["-ex", "kill"]
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return None
    finally:
        qemu.kill_group(proc)
        proc.wait()
        socket.unlink(missing_ok=True)


def rerun_interactive(variant, cpus, memory, append, location, hit):
    out = build.kernel_dir(variant)
    RERUN.mkdir(parents=True, exist_ok=True)
    socket = RERUN / "gdb.sock"
    serial = RERUN / "gdb-serial.log"
    proc = gdb.start_paused_qemu(out, rerun_machine(cpus, memory, variant), deterministic(append),
                                 socket, serial)
    cmd = gdb_args(out / "himem.elf", socket) + ["-q"]
    if location:
        cmd += ["-ex", f"hbreak {location}"]
        if hit > 1:
            cmd += ["-ex", f"ignore 1 {hit - 1}"]
        cmd += ["-ex", "continue"]
    print(f"himem: icount boot on {cpus} CPUs paused; serial output goes to {serial}")
    try:
        return subprocess.call(cmd)
    finally:
        qemu.kill_group(proc)
        proc.wait()
