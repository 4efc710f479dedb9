"""CMake builds: the kernel (cross, per variant) and lib's host unit tests."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
# Each build variant and the CMake options that make it (build/<variant>/).
VARIANTS = {
    "release": {"HIMEM_DEBUG": "OFF", "HIMEM_PAE": "OFF"},
    "debug": {"HIMEM_DEBUG": "ON", "HIMEM_PAE": "OFF"},
    "pae": {"HIMEM_DEBUG": "OFF", "HIMEM_PAE": "ON"},
}


def kernel_dir(variant="release"):
    return BUILD / variant


def _run(cmd, quiet):
    result = subprocess.run(cmd, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE if quiet else None,
                            stderr=subprocess.STDOUT if quiet else None)
    if result.returncode != 0:
        if quiet:
            print(result.stdout[-8000:], file=sys.stderr)
        print(f"himem: build step failed: {' '.join(map(str, cmd))}", file=sys.stderr)
        sys.exit(1)


def build_kernel(variant="release", quiet=True):
    """Configure (once) and build himem.elf and the ISO; returns the build dir."""
    out = kernel_dir(variant)
    if not (out / "CMakeCache.txt").exists():
        _run(["cmake", "-S", ROOT, "-B", out]
             + [f"-D{k}={v}" for k, v in VARIANTS[variant].items()], quiet)
    _run(["cmake", "--build", out, f"-j{os.cpu_count() or 2}"], quiet)
    # For people who attach GDB by hand (tools/himem gdb writes the same file).
    from . import gdb
    (out / "gdbinit").write_text(gdb.gdbinit_text(out / "himem.elf", out / "gdb.sock"))
    return out


def build_host_tests(quiet=True):
    out = BUILD / "host"
    if not (out / "CMakeCache.txt").exists():
        _run(["cmake", "-S", ROOT / "tests" / "host", "-B", out], quiet)
    _run(["cmake", "--build", out, f"-j{os.cpu_count() or 2}"], quiet)
    return out


def run_host_tests():
    """Run lib's GoogleTest suite; returns (passed, failed) from its own summary."""
    out = build_host_tests()
    binary = out / "lib_tests"
    result = subprocess.run([binary, "--gtest_brief=1"], cwd=out, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    passed = failed = 0
    for line in result.stdout.splitlines():
        if line.startswith("[  PASSED  ]"):
            passed = int(line.split()[3])
        elif line.startswith("[  FAILED  ]") and "test" in line and "listed below" in line:
            failed = int(line.split()[3])
    if result.returncode != 0:
        print(result.stdout[-6000:])
        failed = max(failed, 1)
    return passed, failed
