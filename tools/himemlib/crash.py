"""Judging a crash-test boot (ktest.crash=NAME).

A crash test passes when the run:
  - started the named test ("ktest.crash: running NAME"),
  - ended with the crash line "crash: site=SITE" for the expected site,
  - shows each expected function in the call trace, in the given order
    (innermost first),
  - contains every text of the test's `report` list,
  - and QEMU ended with the kernel's fail status (a crash is a failure of
    the machine; only its shape is what the test expects).
A test that returns ("returned without crashing") fails, as does any other
ending.
"""

import re

from . import qemu
from .ktap import Verdict

CRASH_LINE = re.compile(r"^crash: site=(?P<site>\S+) cpu=(?P<cpu>\d+)$", re.M)
LIST_LINE = re.compile(r"^ktest\.list: crash (?P<name>\S+) site=(?P<site>\S+) "
                       r"frames=(?P<frames>\S*) manual=(?P<manual>[01]) report=(?P<report>.*)$", re.M)
FRAME_LINE = re.compile(r"^  \[<[0-9a-f]{8}>\] (?P<symbol>.*)$")


def parse_list(log):
    """Crash tests announced by a ktest.list boot:
    name -> (site, [frames], manual, [texts the report must contain])."""
    return {m["name"]: (m["site"], [f for f in m["frames"].split(",") if f], m["manual"] == "1",
                        [t for t in m["report"].split("|") if t])
            for m in LIST_LINE.finditer(log)}


def names_function(symbol, function):
    """Whether a symbolized frame ('ns::f(int)+0x3/0x10') is the function `function`."""
    return re.search(r"(^|[\s:])" + re.escape(function) + r"[(+ ]", symbol) is not None


def judge(result, name, site, frames, report=()):
    def fail(reason):
        return Verdict(False, reason, None)

    log = result.log
    if result.ending != "exited":
        return fail(result.describe())
    start = log.find(f"ktest.crash: running {name} ")
    if start < 0:
        return fail(f"crash test {name} never started")
    after = log[start:]
    if f"ktest.crash: {name} returned without crashing" in after:
        return fail(f"crash test {name} did not crash")
    m = CRASH_LINE.search(after)
    if not m:
        return fail(f"no crash line after starting {name} ({result.describe()})")
    if m["site"] != site:
        return fail(f"crashed at site {m['site']}, expected {site}")
    if result.status != qemu.FAIL_STATUS:
        return fail(f"crash line seen but {result.describe()}")
    symbols = [fm["symbol"] for line in after[:m.start()].split("\n")
               if (fm := FRAME_LINE.match(line))]
    position = 0
    for function in frames:
        hit = next((i for i in range(position, len(symbols))
                    if names_function(symbols[i], function)), None)
        if hit is None:
            return fail(f"function {function} not in the call trace"
                        + (" after the previous one" if position else ""))
        position = hit + 1
    for text in report:
        if text not in after[:m.end()]:
            return fail(f"the crash report lacks '{text}'")
    return Verdict(True, f"crashed at {site}" + (f" through {' < '.join(frames)}" if frames else ""),
                   None)
