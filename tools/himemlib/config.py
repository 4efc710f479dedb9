"""One configuration of the test matrix, typed and checked.

Each `[[config]]` table of tests/matrix.toml, laid over its `[defaults]`
table, becomes a `Config`. `parse` refuses, with one message naming the
configuration and the key, an unknown key, a missing one, a value of the
wrong type or outside its choices, and a combination that cannot mean
anything (a crash entry without `crash`, a host entry without `command`,
`expect = "fail"` without `expect_reason`, ...).

A crash entry is not run itself: `expand_crash` turns it into one
configuration per crash test its glob names, each carrying what that test
must show (`crash_name`, `site`, `frames`, `report`). `to_json` and
`from_json` carry a configuration from `tools/himem test` to
`tools/himem run-config` through build/matrix/configs.json.
"""

import dataclasses
import difflib
import fnmatch
import tomllib
from dataclasses import dataclass

from . import qemu
from .build import VARIANTS

SOURCE = "tests/matrix.toml"
KINDS = ("boot", "crash", "gdb", "host", "check")
BOOTS = ("kernel", "iso")
EXPECTS = ("pass", "fail")


class MatrixError(SystemExit):
    """A mistake in tests/matrix.toml: exits with the message, no traceback."""

    def __init__(self, where, problem):
        super().__init__(f"himem: {SOURCE}: {where}: {problem}")


def refuse(name, key, problem):
    """Raise the MatrixError of configuration `name`'s `key`."""
    raise MatrixError(f"configuration '{name}'", f"key '{key}' {problem}")


@dataclass(frozen=True, kw_only=True)
class Config:
    name: str
    kind: str = "boot"              # one of KINDS
    variant: str                    # kernel build variant, one of build.VARIANTS
    cpus: str                       # QEMU -smp, as is: "4", "6,sockets=2,cores=3"
    memory: str                     # QEMU -m: "128M", "2G"
    cpu_model: str                  # QEMU -cpu
    accel: str                      # QEMU -accel, or "" for QEMU's choice
    boot: str                       # one of BOOTS: QEMU -kernel, or GRUB from the ISO
    append: str                     # the kernel command line
    crash: str = ""                 # crash entries: glob over crash test names
    command: str = ""               # host: shell command, run from the tree's root
    check: str = ""                 # check: the scripted check to run (checks.CHECKS)
    icount: bool = False            # boot, check: deterministic -icount and a VM clock (qemu.ICOUNT)
    timeout: float                  # seconds in all
    silence: float                  # seconds without serial output that make a hang
    ram_file: bool = False          # boot: RAM in a sparse file (qemu.sparse_ram), for -m beyond the host
    check_memory: bool = False      # boot: check the printed memory map (memcheck.py)
    expect_log: tuple[str, ...] = ()  # boot: texts each of which some line of the log must contain
    expect: str                     # one of EXPECTS
    expect_reason: str = ""         # expect = "fail": text the verdict's reason must contain
    # The one crash test of an expanded crash entry, as ktest.list names it:
    crash_name: str = ""
    site: str = ""                  # the crash line's site
    frames: tuple[str, ...] = ()    # functions the call trace must show, innermost first
    report: tuple[str, ...] = ()    # texts the crash report must contain

    def __post_init__(self):
        for key, choices in (("kind", KINDS), ("variant", tuple(VARIANTS)), ("boot", BOOTS),
                             ("expect", EXPECTS)):
            if getattr(self, key) not in choices:
                refuse(self.name, key, f"is '{getattr(self, key)}', not one of "
                                       + ", ".join(f"'{c}'" for c in choices))
        if not self.cpus.split(",")[0].isdigit():
            refuse(self.name, "cpus", f"is '{self.cpus}', which does not start with a CPU count")
        for key in ("timeout", "silence"):
            if getattr(self, key) <= 0:
                refuse(self.name, key, "must be more than 0 seconds")
        if self.expect == "fail" and not self.expect_reason:
            refuse(self.name, "expect_reason", "is needed with expect = 'fail': "
                                               "the text the verdict's reason must contain")
        if self.expect == "pass" and self.expect_reason:
            refuse(self.name, "expect_reason", "means nothing with expect = 'pass'")
        self._only_for_kind("crash", "crash", needed=True)
        self._only_for_kind("command", "host", needed=True)
        self._only_for_kind("check", "check", needed=True)
        if self.icount and self.kind not in ("boot", "check"):
            refuse(self.name, "icount", f"applies to kind = 'boot' or 'check' only, not '{self.kind}'")
        self._only_for_kind("check_memory", "boot", needed=False)
        self._only_for_kind("ram_file", "boot", needed=False)
        self._only_for_kind("expect_log", "boot", needed=False)

    def _only_for_kind(self, key, kind, needed):
        """`key` applies to configurations of `kind` only; `needed`: they must set it."""
        if self.kind != kind and getattr(self, key):
            refuse(self.name, key, f"applies to kind = '{kind}' only, not '{self.kind}'")
        if self.kind == kind and needed and not getattr(self, key):
            refuse(self.name, key, f"is needed with kind = '{kind}'")

    @property
    def cpu_count(self):
        """The number of CPUs -smp gives ("6,sockets=2,cores=3" -> 6)."""
        return int(self.cpus.split(",")[0])

    @property
    def is_smp(self):
        return self.cpu_count > 1

    @property
    def machine(self):
        return qemu.Machine(cpus=self.cpus, memory=self.memory, cpu_model=self.cpu_model,
                            accel=self.accel, extra=list(qemu.ICOUNT) if self.icount else [])

    @property
    def expectation(self):
        """The expected outcome, in words."""
        return "pass" if self.expect == "pass" else f"judged failed for: {self.expect_reason}"

    def outcome_ok(self, verdict):
        """Whether `verdict` is the outcome expected: a pass, or a failure
        whose reason contains `expect_reason`."""
        if self.expect == "pass":
            return verdict.passed
        return not verdict.passed and self.expect_reason in verdict.reason

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data):
        return cls(**dict(data, frames=tuple(data["frames"]), report=tuple(data["report"]),
                          expect_log=tuple(data["expect_log"])))


# ---- tests/matrix.toml ---------------------------------------------------------------

FIELDS = {f.name: f for f in dataclasses.fields(Config)}
# What the matrix may set; the other fields come from crash expansion.
SETTABLE = {name: f for name, f in FIELDS.items()
            if name not in ("crash_name", "site", "frames", "report")}
REQUIRED = [name for name, f in SETTABLE.items() if f.default is dataclasses.MISSING]

# A settable field's type -> (its name in a refusal, whether a TOML value fits, how it is kept).
TOML_TYPES = {
    str: ("a string", lambda v: isinstance(v, str), str),
    bool: ("true or false", lambda v: isinstance(v, bool), bool),
    float: ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), float),
    tuple[str, ...]: ("a list of strings",
                      lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), tuple),
}


def parse(text):
    """The configurations tests/matrix.toml declares, in its order."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MatrixError("not TOML", str(e)) from None
    defaults = data.pop("defaults", {})
    tables = data.pop("config", [])
    if data:
        raise MatrixError(f"'{next(iter(data))}'", "unknown (the file holds [defaults] and "
                                                   "[[config]] tables only)")
    if not isinstance(defaults, dict):
        raise MatrixError("'defaults'", "must be a table: [defaults]")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise MatrixError("'config'", "must be tables: [[config]]")
    check_defaults(defaults)
    configs = [from_table(table, defaults) for table in tables]
    names = [c.name for c in configs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise MatrixError("[[config]]", f"duplicate configuration names {dupes}")
    return configs


def check_defaults(defaults):
    """Refuse a default no configuration could take."""
    for key, value in defaults.items():
        if key == "name":
            raise MatrixError("[defaults]", "key 'name' names one configuration: no default")
        if key not in SETTABLE:
            raise MatrixError("[defaults]", f"key '{key}' {_unknown(key)}")
        _typed("[defaults]", key, value)


def from_table(table, defaults):
    """The configuration one `[[config]]` table declares over `defaults`."""
    if "name" not in table:
        raise MatrixError("[[config]]", f"a table without a name (its keys: {', '.join(table)})")
    name = table["name"]
    if not isinstance(name, str) or not name:
        raise MatrixError("[[config]]", f"name {name!r} is not a non-empty string")
    for key in table:
        if key not in SETTABLE:
            refuse(name, key, _unknown(key))
    merged = {**defaults, **table}
    for key in REQUIRED:
        if key not in merged:
            refuse(name, key, "is missing (set it here or in [defaults])")
    return Config(**{key: _typed(f"configuration '{name}'", key, value)
                     for key, value in merged.items()})


def _unknown(key):
    close = difflib.get_close_matches(key, SETTABLE, n=1)
    return "is unknown" + (f" (did you mean '{close[0]}'?)" if close else "")


def _typed(where, key, value):
    what, fits, keep = TOML_TYPES[FIELDS[key].type]
    if not fits(value):
        raise MatrixError(where, f"key '{key}' must be {what}, not {value!r}")
    return keep(value)


# ---- crash entries -------------------------------------------------------------------

def expand_crash(entry, tests):
    """One configuration per crash test `entry.crash` names, out of the kernel's
    `tests` (name -> (site, frames, manual, report), as crash.parse_list gives
    them): `<entry>.<test>`, booted with `ktest.crash=<test>`. A manual test
    is taken only when named exactly, never by a wider glob."""
    expanded = []
    for name, (site, frames, manual, report) in sorted(tests.items()):
        if not fnmatch.fnmatchcase(name, entry.crash) or (manual and name != entry.crash):
            continue
        append = (entry.append + " " if entry.append else "") + f"ktest.crash={name}"
        expanded.append(dataclasses.replace(
            entry, name=f"{entry.name}.{name}", append=append, crash_name=name, site=site,
            frames=tuple(frames), report=tuple(report)))
    if not expanded:
        refuse(entry.name, "crash", f"= '{entry.crash}' names no crash test of the "
                                    f"{entry.variant} kernel")
    return expanded
