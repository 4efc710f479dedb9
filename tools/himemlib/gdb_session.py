"""The scripted test of the GDB helpers (matrix kind `check`, check `gdb_helpers`).

The kernel's manual suite gdb_dump (tests/kernel/gdb_dump_test.cpp) sets a
scene on 2 CPUs - three kmap_local mappings and two kmap() slots held by a
task that is being switched out - prints its own view of it to the serial
log, one block per helper, and calls gdb_dump_stop(). GDB, with the helpers
loaded, breaks there and runs each helper the dump names
(tools/gdb/session_driver.py); `compare` then requires every helper's output
to equal the kernel's block, line for line, and `himem dmesg` to be the
serial log's tail. A helper that disagrees with the kernel fails the matrix.
"""

import json
import os
import subprocess
import time

from . import gdb, qemu
from .build import ROOT
from .ktap import Verdict

HELPERS = ROOT / "tools" / "gdb" / "himem-gdb.py"
DRIVER = ROOT / "tools" / "gdb" / "session_driver.py"
DUMP_FILTER = "ktest.filter=gdb_dump.*"


def parse_dump(serial):
    """The kernel's dump: {command: expected output} for each `gdbdump: CMD`
    block, and {"$fn(...)": "value"} for each `gdbdump: $fn(...) = value`."""
    expected = {}
    key = None
    for line in serial.replace("\r\n", "\n").split("\n"):
        if line.startswith("gdbdump: "):
            body = line[len("gdbdump: "):]
            key = None
            if body in ("begin", "end"):
                continue
            if body.startswith("$") and " = " in body:
                name, value = body.split(" = ", 1)
                expected[name] = value
            else:
                key = body
                expected[key] = ""
        elif key is not None:
            expected[key] += line + "\n"
    return expected


def compare(expected, results):
    """The disagreements between the kernel's dump and the helpers' outputs."""
    problems = []
    if not results.get("stopped"):
        return ["GDB did not stop in gdb_dump_stop"]
    if not expected:
        return ["the kernel printed no dump"]
    outputs = results.get("outputs", {})
    for key, error in sorted(results.get("errors", {}).items()):
        problems.append(f"'{key}' failed in GDB: {error}")
    checks = dict(expected)
    # The same helpers from CPU 1's thread, without arguments.
    if "himem kmap gdb-peer" in expected:
        checks["thread 2: himem kmap"] = expected["himem kmap gdb-peer"]
    if "himem cpus" in expected:
        checks["thread 2: himem cpus"] = expected["himem cpus"]
    for key, want in checks.items():
        if key in results.get("errors", {}):
            continue
        got = outputs.get(key)
        if got is None:
            problems.append(f"'{key}' was not run")
        elif got.strip("\n") != want.strip("\n"):
            problems.append(f"'{key}' disagrees with the kernel:\n" + diff(want, got))
    dmesg = outputs.get("himem dmesg")
    serial = results.get("serial", "").replace("\r\n", "\n")
    if dmesg is None:
        problems.append("'himem dmesg' was not run")
    elif not dmesg or not serial.endswith(dmesg.rstrip("\n") + "\n") and not serial.endswith(dmesg):
        problems.append("'himem dmesg' is not the tail of the serial log")
    return problems


def diff(want, got):
    import difflib
    return "\n".join(difflib.unified_diff(want.strip("\n").split("\n"), got.strip("\n").split("\n"),
                                          "kernel", "helper", lineterm="", n=1))


def run(build_dir, machine, append="", timeout=120):
    """Boot the dump under GDB and compare; returns (RunResult, Verdict)."""
    socket = build_dir / f"gdb-helpers-{os.getpid()}.sock"
    serial = build_dir / "logs" / f"gdb-helpers-{os.getpid()}.log"
    out = build_dir / "logs" / f"gdb-helpers-{os.getpid()}.json"
    serial.parent.mkdir(parents=True, exist_ok=True)
    for f in (serial, out):
        f.unlink(missing_ok=True)
    start = time.monotonic()
    args = " ".join(a for a in (DUMP_FILTER, append) if a)
    proc = gdb.start_paused_qemu(build_dir, machine, args, socket, serial)
    cmd = ["gdb", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
           "-ex", f"file {build_dir / 'himem.elf'}", "-ex", f"target remote {socket}",
           "-x", str(HELPERS), "-x", str(DRIVER)]
    env = dict(os.environ, HIMEM_GDB_SERIAL=str(serial), HIMEM_GDB_OUT=str(out))
    try:
        transcript = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=timeout,
                                    env=env).stdout
    except subprocess.TimeoutExpired:
        transcript = None
    finally:
        qemu.kill_group(proc)
        proc.wait()
        socket.unlink(missing_ok=True)
    log = serial.read_text(errors="replace") if serial.exists() else ""
    result = qemu.RunResult("exited", 0, log + "\n--- gdb ---\n" + (transcript or ""),
                            time.monotonic() - start)
    if transcript is None:
        return result, Verdict(False, f"gdb did not finish within {timeout}s", None)
    if not out.exists():
        return result, Verdict(False, "the GDB driver wrote no results", None)
    results = json.loads(out.read_text())
    expected = parse_dump(results.get("serial", ""))
    problems = compare(expected, results)
    if problems:
        result.log += "\n--- disagreements ---\n" + "\n".join(problems)
        first = problems[0].split("\n")[0]
        return result, Verdict(False, f"{len(problems)} helper(s) disagree with the kernel: {first}",
                               None)
    n = len(expected) + 2
    return result, Verdict(True, f"{n} helper outputs agree with the kernel's dump; "
                                 f"himem dmesg is the serial log's tail", None)
