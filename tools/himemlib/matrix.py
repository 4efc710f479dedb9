"""The test matrix: tests/matrix.toml, expanded into concrete configurations.

Kinds of configuration:
  boot   (default) boot and judge the KTAP output
  crash  one boot per crash test named by the `crash` glob (ktest.crash=NAME);
         manual crash tests (harness self-tests) only when named exactly
  gdb    the scripted GDB session against the QEMU stub
  host   a host-side test program (`command`, run from the tree's root)

`expect` is "pass", or "fail" with `expect_reason`: a substring the verdict's
reason must contain. Harness self-tests use the latter: a run that must be
judged failed, for the named reason, counts as a pass of the harness.
"""

import fnmatch
import json
import tomllib
from pathlib import Path

from . import build, crash, qemu

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "tests" / "matrix.toml"
STATE = build.BUILD / "matrix"


def load():
    data = tomllib.loads(MATRIX.read_text())
    defaults = data.get("defaults", {})
    configs = []
    for raw in data.get("config", []):
        c = dict(defaults, **raw)
        c.setdefault("kind", "boot")
        c["timeout"] = float(c["timeout"])
        c["silence"] = float(c["silence"])
        configs.append(c)
    names = [c["name"] for c in configs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"himem: duplicate configuration names in {MATRIX}: {sorted(dupes)}")
    return configs


def machine_of(config):
    return qemu.Machine(cpus=str(config["cpus"]), memory=config["memory"],
                        cpu_model=config["cpu_model"], accel=config["accel"])


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
    """Replace each crash entry by one configuration per matching crash test."""
    expanded = []
    listed = {}
    for c in configs:
        if c["kind"] != "crash":
            expanded.append(c)
            continue
        if c["variant"] not in listed:
            listed[c["variant"]] = crash_tests(c["variant"])
        pattern = c["crash"]
        for name, (site, frames, manual, report) in sorted(listed[c["variant"]].items()):
            if not fnmatch.fnmatchcase(name, pattern) or (manual and name != pattern):
                continue
            one = dict(c, name=f"{c['name']}.{name}", crash_name=name, site=site, frames=frames,
                       report=report)
            one["append"] = (c["append"] + " " if c["append"] else "") + f"ktest.crash={name}"
            expanded.append(one)
        if not any(e.get("crash_name") and fnmatch.fnmatchcase(e["crash_name"], pattern)
                   for e in expanded):
            raise SystemExit(f"himem: crash pattern '{pattern}' of {c['name']} matches no crash test")
    return expanded


def save(configs):
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "configs.json").write_text(json.dumps(configs, indent=1))


def saved():
    return {c["name"]: c for c in json.loads((STATE / "configs.json").read_text())}


def cpu_count(config):
    """The number of CPUs QEMU's -smp argument gives ("6,sockets=2,cores=3" -> 6)."""
    return int(str(config["cpus"]).split(",")[0])


def is_smp(config):
    return cpu_count(config) > 1
