#!/usr/bin/env python3
"""Build the kernel's embedded symbol table, and check the two-pass link.

  mksymtab.py table ELF OUT.bin      write the table for ELF's functions
  mksymtab.py verify PASS1 FINAL     fail if any symbol moved between passes

The table format is lib/ksym.h's: a header {magic, count}, `count` entries
{address, size, name_offset} sorted by address, then the NUL-terminated names.
QEMU's Multiboot loader passes no ELF section headers to the kernel, so the
kernel cannot read its own .symtab: the table is linked into the image
(section .ksymtab, placed last so that its size moves no other symbol).
"""

import os
import struct
import subprocess
import sys

MAGIC = 0x4B53594D
NM = "i686-linux-gnu-nm"
MAX_NAME = 120


def functions(elf):
    out = subprocess.run([NM, "--defined-only", "-n", "-S", "-C", elf], check=True,
                         text=True, stdout=subprocess.PIPE).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            addr, size, _, name = parts
            syms.setdefault(int(addr, 16), (int(size, 16), name))
        elif len(parts) == 3 and parts[1] in "tT":
            # Assembly labels without a size (entry stubs): size filled in below.
            addr, _, name = parts
            syms.setdefault(int(addr, 16), (0, name))
    ordered = sorted(syms.items())
    result = []
    for i, (addr, (size, name)) in enumerate(ordered):
        if size == 0 and i + 1 < len(ordered):
            size = ordered[i + 1][0] - addr
        if len(name) > MAX_NAME:
            name = name[:MAX_NAME - 3] + "..."
        result.append((addr, size, name))
    return result


def write_table(elf, out_path):
    syms = functions(elf)
    names = b""
    entries = b""
    for addr, size, name in syms:
        entries += struct.pack("<III", addr, size, len(names))
        names += name.encode() + b"\0"
    blob = struct.pack("<II", MAGIC, len(syms)) + entries + names
    blob += b"\0" * (-len(blob) % 4)
    with open(out_path, "wb") as f:
        f.write(blob)


def all_symbols(elf):
    out = subprocess.run([NM, "--defined-only", elf], check=True, text=True,
                         stdout=subprocess.PIPE).stdout
    result = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            result[parts[2]] = int(parts[0], 16)
    return result


# Symbols that are allowed to differ: the table itself and what follows it.
MOVABLE = {"__ksymtab_start", "__ksymtab_end", "__kernel_end"}


def verify(pass1, final):
    """Exit non-zero, deleting FINAL so no stale image survives, if anything moved."""
    a, b = all_symbols(pass1), all_symbols(final)
    problems = False
    moved = [(n, a[n], b[n]) for n in a if n in b and a[n] != b[n] and n not in MOVABLE]
    if moved:
        for name, x, y in moved[:20]:
            print(f"mksymtab: {name} moved from {x:#x} to {y:#x} between link passes",
                  file=sys.stderr)
        problems = True
    missing = [n for n in a if n not in b and n not in MOVABLE]
    if missing:
        print(f"mksymtab: symbols vanished in the final link: {missing[:10]}", file=sys.stderr)
        problems = True
    if problems:
        os.remove(final)
        sys.exit(1)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "table":
        write_table(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
