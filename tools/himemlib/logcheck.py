"""Lines a boot must print: a configuration's `expect_log`.

Each entry is text that some line of the serial log must contain. Refusals
that only print a line (a bad kernel parameter ignored, the boot going on)
have no KTAP result of their own; a refusal that goes quiet, or says
something else, fails the configuration here.
"""

from .ktap import Verdict


def check(log, expected):
    lines = log.splitlines()
    missing = [text for text in expected if not any(text in line for line in lines)]
    if missing:
        return Verdict(False, "no line contains " + "; ".join(repr(t) for t in missing), None)
    return Verdict(True, f"{len(expected)} expected line(s) printed", None)
