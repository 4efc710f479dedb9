"""GDB helpers for the himem kernel (loaded by tools/gdb/himem-gdb.py).

render.py formats plain data and imports nothing from GDB, so the host can
unit-test it; state.py reads the kernel through GDB into that data;
commands.py registers the `himem ...` commands and the convenience
functions.
"""
