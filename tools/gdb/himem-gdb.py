# GDB helpers for himem: `source tools/gdb/himem-gdb.py` (the generated
# build/<variant>/gdbinit does it). Commands: himem kmap|pkmap|cpus|tasks|
# pte|dmesg; functions $percpu("field", cpu) and $current_task(cpu).
# The output formats are documented in docs/debugging.md.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import himem_gdb.commands  # noqa: E402,F401  (registers the commands)
