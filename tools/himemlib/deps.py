"""Install what himem needs from Debian's archive, or say exactly how to."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

# (how to tell it is there, Debian package)
REQUIREMENTS = [
    (("cmd", "i686-linux-gnu-g++"), "g++-i686-linux-gnu"),
    (("cmd", "g++"), "g++"),
    (("cmd", "make"), "make"),
    (("cmd", "cmake"), "cmake"),
    (("cmd", "qemu-system-i386"), "qemu-system-x86"),
    (("cmd", "grub-mkrescue"), "grub-common"),
    (("path", "/usr/lib/grub/i386-pc/multiboot.mod"), "grub-pc-bin"),
    (("cmd", "xorriso"), "xorriso"),
    (("cmd", "mformat"), "mtools"),
    (("cmd", "gdb"), "gdb"),
    (("path", "/usr/include/gtest/gtest.h"), "libgtest-dev"),
    (("path", "/usr/src/googletest"), "googletest"),
]


def missing_packages():
    missing = []
    for (kind, what), package in REQUIREMENTS:
        present = shutil.which(what) if kind == "cmd" else Path(what).exists()
        if not present and package not in missing:
            missing.append(package)
    return missing


def ensure():
    """Install missing packages when root; otherwise print the command and exit."""
    missing = missing_packages()
    if not missing:
        return
    command = ["apt-get", "install", "-y"] + missing
    if os.geteuid() != 0:
        print("himem: missing Debian packages: " + " ".join(missing), file=sys.stderr)
        print("himem: install them with:\n  sudo apt-get update && sudo " + " ".join(command),
              file=sys.stderr)
        sys.exit(2)
    print("himem: installing " + " ".join(missing), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in (["apt-get", "update"], command):
        result = subprocess.run(step, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        if result.returncode != 0:
            print(result.stdout[-4000:], file=sys.stderr)
            print(f"himem: '{' '.join(step)}' failed with status {result.returncode}",
                  file=sys.stderr)
            sys.exit(2)
    still = missing_packages()
    if still:
        print("himem: still missing after install: " + " ".join(still), file=sys.stderr)
        sys.exit(2)
