"""The worked debugging session of docs/debugging.md, run for real.

Records a one-CPU run of the K14 race injection with the RFC's
single-phase switch (crash test kmap_local_k14_single_phase_switch_hits_k6),
replays it under GDB, stops at the BUG, puts a watchpoint on the slot's
PTE and reverse-continues to the write that put the wrong frame there;
`himem kmap` and `himem pte` show both tasks' stacks and the slot.

`tools/himem worked-session --write` puts the transcript into
docs/debugging.md between its markers; the matrix (check `worked_session`)
regenerates it and fails when the doc's copy no longer matches. Hex values
and source line numbers are masked in that comparison: they move with any
change to the kernel, while the session's course - where it stops, which
function wrote the slot, what the helpers show - is what the doc must keep.
"""

import re
import subprocess
import time

from . import build, qemu, replay
from .ktap import Verdict

DOC = build.ROOT / "docs" / "debugging.md"
BEGIN = "<!-- worked-session transcript: tools/himem worked-session --write -->"
END = "<!-- end of the worked-session transcript -->"
CRASH = "kmap_local_k14_single_phase_switch_hits_k6"
APPEND = f"highmem=32M ktest.crash={CRASH}"
WHERE = build.BUILD / "rr-worked-session"
MARK = "@@himem-gdb@@ "

COMMANDS = [
    "hbreak mm::detail::kmap_local_slot_busy",
    "continue",
    "bt 5",
    "print pos",
    "himem kmap",
    "himem tasks",
    "himem kmap race-y",
    "set $slot = (x86::Pte *)x86::cpu_data[0].kmap_pte - pos",
    "print/x $slot->m_raw",
    "watch -l $slot->m_raw",
    "reverse-continue",
    "bt 6",
    "print/x $slot->m_raw",
    "himem kmap race-x",
    "himem kmap race-y",
    "himem pte x86::cpu_data[0].kmap_vaddr - 4096",
]


# QEMU 7.2's reverse-continue sometimes never returns on a loaded host (seen
# with two other QEMUs on the 2 cores; never on an idle one): the session is
# tried again from a fresh replay, each attempt with its own time limit.
ATTEMPTS = 3
ATTEMPT_SECONDS = 60


def transcript(timeout=240):
    """Record, replay under GDB, and return the transcript (or raise)."""
    replay.record("release", "128M", APPEND, where=WHERE, timeout=timeout)
    failures = []
    for _ in range(ATTEMPTS):
        try:
            return session(min(timeout, ATTEMPT_SECONDS))
        except RuntimeError as e:
            failures.append(str(e))
    raise RuntimeError(f"{ATTEMPTS} attempts failed; the last: {failures[-1]}")


def session(timeout):
    """One replay under GDB running COMMANDS; the transcript."""
    socket = WHERE / "gdb.sock"
    proc = replay.start_replay_for_gdb(WHERE, socket, WHERE / "replay-gdb.log")
    # Each command as typed, then what it printed. (Commands run from -ex:
    # GDB's Python gdb.execute() never returned from reverse-continue here.)
    cmd = replay.gdb_args(WHERE / "himem.elf", socket) + ["-batch"]
    for c in COMMANDS:
        cmd += ["-ex", f"echo {MARK}{c}\\n", "-ex", c]
    cmd += ["-ex", "kill"]
    log = WHERE / "gdb.log"
    try:
        with open(log, "w") as f:
            gdb_proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            try:
                gdb_proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                qemu.kill_group(gdb_proc)
                gdb_proc.wait()
                tail = log.read_text(errors="replace").replace(MARK, "(gdb) ")[-1500:]
                raise RuntimeError(f"GDB did not finish within {timeout:.0f}s; its last "
                                   f"output:\n{tail}") from None
    finally:
        qemu.kill_group(proc)
        proc.wait()
        socket.unlink(missing_ok=True)
    gdb_out = log.read_text(errors="replace")
    if MARK not in gdb_out:
        raise RuntimeError("GDB ran no command:\n" + gdb_out[-3000:])
    body = gdb_out[gdb_out.index(MARK):]
    # Up to the kill; a blank line or QEMU's goodbye is no part of it.
    lines = [ln for ln in body.split("\n") if ln.strip() and not ln.startswith("[Inferior")
             and "Kill the program" not in ln and "Terminated via GDBstub" not in ln]
    text = "\n".join(ln.replace(MARK, "(gdb) ") for ln in lines) + "\n"
    return text.replace(str(build.ROOT) + "/", "")


def mask(text):
    text = re.sub(r"0x[0-9a-f]+", "0x_", text)
    text = re.sub(r"\.(h|cpp|S):\d+", r".\1:_", text)
    text = re.sub(r"\+\d+", "+_", text)
    return text


def doc_transcript():
    doc = DOC.read_text()
    if BEGIN not in doc or END not in doc:
        return None
    body = doc.split(BEGIN, 1)[1].split(END, 1)[0]
    return body.strip("\n").removeprefix("```").removesuffix("```").strip("\n") + "\n"


def write():
    text = transcript()
    doc = DOC.read_text()
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{BEGIN}\n```\n{text}```\n{END}{tail}")
    print(f"himem: {DOC} updated ({len(text.splitlines())} lines of transcript)")
    return 0


def check(timeout=240):
    """The matrix's check: (RunResult, Verdict)."""
    start = time.monotonic()
    try:
        text = transcript(timeout)
    except (RuntimeError, SystemExit, subprocess.TimeoutExpired) as e:
        return (qemu.RunResult("exited", None, str(e), time.monotonic() - start),
                Verdict(False, f"the worked session did not run: {str(e).splitlines()[0]}", None))
    result = qemu.RunResult("exited", 0, text, time.monotonic() - start)
    problems = []
    for what, needle in (("stopped at the BUG", "kmap_local_slot_busy"),
                         ("reverse-continue reached the single-phase switch's write",
                          "Switch<true>::sched_out"),
                         ("himem pte named the slot", "fixmap kmap slot 1 of CPU 0")):
        if needle not in text:
            problems.append(what)
    if problems:
        return result, Verdict(False, "the session went wrong: not " + ", ".join(problems), None)
    doc = doc_transcript()
    if doc is None:
        return result, Verdict(False, f"{DOC.name} has no transcript markers", None)
    if mask(doc) != mask(text):
        import difflib
        d = "\n".join(difflib.unified_diff(mask(doc).splitlines(), mask(text).splitlines(),
                                           "docs/debugging.md", "this run", lineterm="", n=1))
        result.log += "\n--- difference (masked) ---\n" + d
        return result, Verdict(False, "docs/debugging.md's transcript no longer matches the "
                                      "session (tools/himem worked-session --write)", None)
    return result, Verdict(True, f"recorded, replayed, reverse-continued to the PTE write; "
                                 f"the doc's transcript matches ({len(text.splitlines())} lines)",
                           None)
