"""The test matrix: tests/matrix.toml, expanded into concrete configurations.

Kinds of configuration:
  boot   (default) boot and judge the KTAP output
  crash  one boot per crash test named by the `crash` glob (ktest.crash=NAME);
         manual crash tests (harness self-tests) only when named exactly
  gdb    the scripted GDB session against the QEMU stub
  host   a host-side test program (`command`, run from the tree's root)
  check  a scripted check of tools/himemlib/checks.py (`check`): the GDB
         helpers against the kernel's dump, two icount boots that must print
         the same log, a record/replay round trip, an SMP rerun, the worked
         debugging session of docs/debugging.md

`expect` is "pass", or "fail" with `expect_reason`: a substring the verdict's
reason must contain. Harness self-tests use the latter: a run that must be
judged failed, for the named reason, counts as a pass of the harness.

Each configuration is a config.Config. `tools/himem test` saves the expanded
matrix in build/matrix/configs.json; CTest runs each configuration with
`tools/himem run-config NAME` (executor.py), which leaves its result record
in build/matrix/results/NAME.json for the summary (report.py).
"""

import json
from pathlib import Path

from . import build, crash, qemu
from .config import Config, expand_crash, parse

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "tests" / "matrix.toml"
STATE = build.BUILD / "matrix"
RESULTS = STATE / "results"


def load():
    """The configurations of tests/matrix.toml, crash entries unexpanded."""
    return parse(MATRIX.read_text())


def crash_tests(variant):
    """Ask the kernel for its crash tests (one ktest.list boot)."""
    out = build.kernel_dir(variant)
    cmd = qemu.qemu_command(out / "himem.elf", qemu.Machine(), "ktest.list")
    result = qemu.run(cmd, silence=20, timeout=60)
    tests = crash.parse_list(result.log)
    if result.status != qemu.PASS_STATUS or not tests:
        raise SystemExit(f"himem: could not list the crash tests ({result.describe()})\n"
                         + qemu.tail(result.log))
    return tests


def expand(configs):
    """Replace each crash entry by one configuration per crash test it names."""
    expanded = []
    listed = {}
    for c in configs:
        if c.kind != "crash":
            expanded.append(c)
            continue
        if c.variant not in listed:
            listed[c.variant] = crash_tests(c.variant)
        expanded += expand_crash(c, listed[c.variant])
    return expanded


def save(configs):
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "configs.json").write_text(json.dumps([c.to_json() for c in configs], indent=1))


def saved():
    """The configurations `save` wrote, by name."""
    configs = (Config.from_json(c) for c in json.loads((STATE / "configs.json").read_text()))
    return {c.name: c for c in configs}


def result_path(name):
    """Where `run-config` leaves the result record of configuration `name`."""
    return RESULTS / f"{name}.json"
