# Run inside GDB by tools/himemlib/gdb_session.py (gdb -batch -x ...): stop
# at gdb_dump_stop(), then run every helper the kernel's dump names and
# write what each printed to $HIMEM_GDB_OUT as JSON. The comparison is the
# host's (gdb_session.compare), so that it can be unit-tested.
import json
import os
import re
import time

import gdb

serial_path = os.environ["HIMEM_GDB_SERIAL"]
out_path = os.environ["HIMEM_GDB_OUT"]
results = {"stopped": False, "outputs": {}, "errors": {}}


def run(key, command):
    try:
        results["outputs"][key] = gdb.execute(command, to_string=True)
    except gdb.error as e:
        results["errors"][key] = str(e)


gdb.execute("hbreak gdb_dump_stop")
gdb.execute("continue")
frame = gdb.selected_frame()
results["stopped"] = frame.name() == "gdb_dump_stop"
results["thread"] = gdb.selected_thread().num
if results["stopped"]:
    # The dump is on the serial log before the call; QEMU writes it as it comes.
    deadline = time.monotonic() + 5
    text = ""
    while "gdbdump: end" not in text and time.monotonic() < deadline:
        text = open(serial_path, errors="replace").read()
        time.sleep(0.05)
    results["serial"] = text
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.startswith("gdbdump: ") or line in ("gdbdump: begin", "gdbdump: end"):
            continue
        body = line[len("gdbdump: "):]
        m = re.match(r"(\$\w+\(.*\)) = ", body)
        if m:
            run(m.group(1), f"output/x (unsigned){m.group(1)}")
        else:
            run(body, body)
    # Any vCPU: the peer's stack from its own CPU's thread, without naming it.
    gdb.execute("thread 2", to_string=True)
    run("thread 2: himem kmap", "himem kmap")
    run("thread 2: himem cpus", "himem cpus")
    gdb.execute("thread 1", to_string=True)
    run("himem dmesg", "himem dmesg")
with open(out_path, "w") as f:
    json.dump(results, f)
gdb.execute("kill")
