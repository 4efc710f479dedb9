"""Booting himem under QEMU and watching it.

A run ends in one of these ways, and the result says which:
  exited    QEMU exited by itself (status: 33 = kernel pass, 35 = kernel fail,
            1 = QEMU error, 0 = triple fault under -no-reboot, ...)
  silent    no serial output for `silence` seconds: a hang; QEMU's whole
            process group is killed
  timeout   still running after `timeout` seconds: too slow; killed likewise
"""

import contextlib
import dataclasses
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PASS_STATUS = 33   # isa-debug-exit value 0x10
FAIL_STATUS = 35   # isa-debug-exit value 0x11

STATUS_MEANING = {
    PASS_STATUS: "kernel reported pass",
    FAIL_STATUS: "kernel reported failure",
    1: "QEMU error (bad arguments or image)",
    0: "QEMU exited without the kernel's word (triple fault under -no-reboot?)",
}


# The CPU each build variant boots on unless told otherwise. The PAE build
# wants what a HIGHMEM64G machine had: 36 physical address bits (qemu32 has
# neither PSE36 nor CPUID 0x80000008, so its MAXPHYADDR is 32 and a PAE
# entry cannot name a frame above 4 GiB) and NX.
CPU_MODELS = {"pae": "qemu32,pse36=on,nx=on"}


# Deterministic runs: QEMU counts guest instructions (one per TSC tick), the
# vCPUs take turns in one host thread, and the RTC follows the virtual clock
# from a fixed date. Two boots of the same kernel and command line print the
# same log, byte for byte, on any number of CPUs (docs/smp.md).
ICOUNT = ["-icount", "shift=0,sleep=off", "-rtc", "base=2024-01-01T00:00:00,clock=vm"]


def cpu_model_for(variant):
    return CPU_MODELS.get(variant, "qemu32")


@dataclass
class Machine:
    cpus: str = "1"            # passed to -smp as is ("4", "6,sockets=2,cores=3")
    memory: str = "128M"
    cpu_model: str = "qemu32"
    accel: str = ""            # e.g. "tcg,thread=single"
    extra: list = field(default_factory=list)


@contextlib.contextmanager
def sparse_ram(machine, path):
    """`machine` with its RAM in a sparse file at `path` (created, and removed
    afterwards): a guest larger than the host will allocate (-m 62G here)
    costs only the pages it touches. No 64-bit PCI window: with 36 physical
    address bits the pc machine has no room for one above such RAM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(qemu_mem_bytes(machine.memory))
    try:
        yield dataclasses.replace(machine, extra=list(machine.extra) + [
            "-machine", "memory-backend=ram0",
            "-object", f"memory-backend-file,id=ram0,size={machine.memory},mem-path={path},share=on",
            "-global", "i440FX-pcihost.pci-hole64-size=0"])
    finally:
        path.unlink(missing_ok=True)


def qemu_mem_bytes(arg):
    """QEMU's -m: a plain number means MiB, else a K, M or G suffix."""
    arg = arg.strip()
    if arg.isdigit():
        return int(arg) << 20
    return int(arg[:-1]) << {"K": 10, "M": 20, "G": 30}[arg[-1].upper()]


@dataclass
class RunResult:
    ending: str                # exited | silent | timeout
    status: int | None
    log: str
    seconds: float

    def describe(self):
        if self.ending == "exited":
            return f"status {self.status}: {STATUS_MEANING.get(self.status, 'unexpected status')}"
        if self.ending == "silent":
            return "killed: no serial output within the silence limit (hang)"
        return "killed: total time limit reached (too slow)"


def qemu_command(kernel, machine, append, iso=None, gdb_socket=None, paused=False):
    cmd = ["qemu-system-i386", "-M", "pc", "-cpu", machine.cpu_model, "-m", machine.memory,
           "-smp", machine.cpus, "-no-reboot", "-display", "none", "-monitor", "none",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if machine.accel:
        cmd += ["-accel", machine.accel]
    if iso:
        cmd += ["-cdrom", str(iso), "-boot", "d"]
    else:
        cmd += ["-kernel", str(kernel)]
        if append:
            cmd += ["-append", append]
    if gdb_socket:
        cmd += ["-gdb", f"unix:{gdb_socket},server=on,wait=off"]
    if paused:
        cmd += ["-S"]
    return cmd + list(machine.extra)


def make_iso(build_dir, append):
    """An ISO whose GRUB entry passes `append`; the default ISO when empty."""
    default = Path(build_dir) / "himem.iso"
    if not append:
        return default
    root = Path(tempfile.mkdtemp(prefix="himem-iso-"))
    (root / "boot" / "grub").mkdir(parents=True)
    shutil.copy(Path(build_dir) / "himem.elf", root / "boot" / "himem.elf")
    (root / "boot" / "grub" / "grub.cfg").write_text(
        "set timeout=0\nset default=0\n"
        f'menuentry "himem" {{\n    multiboot /boot/himem.elf {append}\n    boot\n}}\n')
    iso = Path(build_dir) / "himem-custom.iso"
    subprocess.run(["grub-mkrescue", "-o", str(iso), str(root)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(root, ignore_errors=True)
    return iso


def run(cmd, silence=30.0, timeout=300.0, echo=False, log_path=None, on_line=None):
    """Run QEMU, collect the serial log, enforce both limits.

    `echo` copies the serial output to stdout as it comes; `on_line`, if
    given, is called with each whole line as it comes (without its newline).
    """
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    chunks = []
    partial = ""
    last_output = start
    ending = "exited"
    try:
        while True:
            now = time.monotonic()
            if now - start > timeout:
                ending = "timeout"
                break
            if now - last_output > silence:
                ending = "silent"
                break
            wait = max(0.05, min(silence - (now - last_output), timeout - (now - start)))
            if not sel.select(timeout=wait):
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            last_output = time.monotonic()
            chunks.append(data)
            if echo:
                sys.stdout.write(data.decode("utf-8", "replace").replace("\r\n", "\n"))
                sys.stdout.flush()
            if on_line:
                *lines, partial = (partial + data.decode("utf-8", "replace")).split("\n")
                for line in lines:
                    on_line(line.rstrip("\r"))
    finally:
        if ending != "exited":
            kill_group(proc)
        sel.close()
    status = proc.wait()
    log = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        Path(log_path).write_text(log)
    return RunResult(ending, status if ending == "exited" else None, log,
                     time.monotonic() - start)


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def tail(log, lines=40):
    rows = log.rstrip("\n").split("\n")
    return "\n".join(rows[-lines:])
