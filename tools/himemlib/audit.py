"""tools/himem audit: which kmap_atomic() sections depend on its side effects.

Boots the debug build with kmap.audit (mm/kmap_audit.h), which makes
kmap_atomic() open an audited section instead of disabling preemption and
page faults, runs the cases of --filter (by default every kmap_* suite: the
audit's own examples and whatever else maps with kmap_atomic), and reads the
report the kernel prints at the end of the run as KTAP diagnostics:

  # kmap_audit: report: 10 call sites, recording on
  # kmap_audit: site 2 at example_per_cpu_counter+0x235: 9 runs: convert, keeping preempt_disable()
  # kmap_audit: site 2: percpu_access x9 (preemption), first at sched::smp_processor_id_checked+0x87 <- example_per_cpu_counter+0x108
  # kmap_audit: site 4: ran meanwhile: 3 switches, 2 tasks: init, idle/0
  # kmap_audit: end of report

It prints one table row per call site (or --json), and exits 0 only when
the run passed the KTAP judge and the report is whole.
"""

import json
import re
import sys
from dataclasses import asdict, dataclass, field

from . import build, ktap, qemu

PREFIX = r"^# kmap_audit: "
HEADER = re.compile(PREFIX + r"report: (?P<sites>\d+) call sites, recording (?P<recording>on|off)$")
ROW = re.compile(PREFIX + r"site (?P<n>\d+) at (?P<site>.+): (?P<runs>\d+) runs?: (?P<verdict>.+)$")
EVENT = re.compile(PREFIX + r"site (?P<n>\d+): (?P<kind>\w+) x(?P<count>\d+) \((?P<dependency>[^)]*)\), "
                   r"first at (?P<first>.+)$")
MEANWHILE = re.compile(PREFIX + r"site (?P<n>\d+): ran meanwhile: (?P<switches>\d+) switch(?:es)?, "
                       r"(?P<tasks>\d+) tasks?: (?P<names>.*)$")
END = re.compile(PREFIX + r"end of report$")

VERDICTS = ("convert as is", "convert, keeping preempt_disable()",
            "convert, keeping pagefault_disable()", "keep kmap_atomic")
DEFAULT_FILTER = "kmap_*"
MEMORY = "1G"
SILENCE = 90
TIMEOUT = 900


@dataclass
class Event:
    kind: str
    count: int
    dependency: str
    first: str


@dataclass
class Site:
    number: int
    site: str
    runs: int
    verdict: str
    events: list = field(default_factory=list)
    switches_meanwhile: int = 0
    ran_meanwhile: str = ""


@dataclass
class Report:
    recording: str
    sites: list
    problems: list

    @property
    def whole(self):
        return not self.problems


def parse(log):
    """The last report in `log` (a run prints one; on demand there may be
    more). A report without its header or end line, or whose site count
    disagrees with its rows, has problems."""
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if HEADER.match(line)]
    if not starts:
        return Report("", [], ["no kmap_audit report in the log (was kmap.audit on?)"])
    start = starts[-1]
    header = HEADER.match(lines[start])
    report = Report(header["recording"], [], [])
    by_number = {}
    ended = False
    for line in lines[start + 1:]:
        if END.match(line):
            ended = True
            break
        if m := ROW.match(line):
            s = Site(int(m["n"]), m["site"], int(m["runs"]), m["verdict"])
            if s.verdict not in VERDICTS:
                report.problems.append(f"site {s.number}: unknown verdict '{s.verdict}'")
            by_number[s.number] = s
            report.sites.append(s)
        elif m := EVENT.match(line):
            if site := by_number.get(int(m["n"])):
                site.events.append(Event(m["kind"], int(m["count"]), m["dependency"], m["first"]))
        elif m := MEANWHILE.match(line):
            if site := by_number.get(int(m["n"])):
                site.switches_meanwhile = int(m["switches"])
                site.ran_meanwhile = m["names"]
    if not ended:
        report.problems.append("the report has no end line")
    if len(report.sites) != int(header["sites"]):
        report.problems.append(f"the report names {header['sites']} call sites and lists "
                               f"{len(report.sites)}")
    return report


def table(report):
    """The report as a plain text table, one row per call site."""
    rows = [("site", "runs", "verdict", "dependencies (count)")]
    for s in report.sites:
        deps = ", ".join(f"{e.kind} {e.count}" for e in s.events) or "-"
        if s.switches_meanwhile:
            deps += f"; ran meanwhile: {s.ran_meanwhile}"
        rows.append((s.site, str(s.runs), s.verdict, deps))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out = []
    for r in rows:
        out.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    return "\n".join(out)


def to_json(report, verdict):
    return json.dumps({"recording": report.recording, "passed": verdict.passed,
                       "reason": verdict.reason, "problems": report.problems,
                       "sites": [asdict(s) for s in report.sites]}, indent=1)


def run(cpus="1", memory=MEMORY, filter_glob=DEFAULT_FILTER, as_json=False, append=""):
    out = build.build_kernel("debug")
    machine = qemu.Machine(cpus=str(cpus), memory=memory, cpu_model=qemu.cpu_model_for("debug"))
    cmdline = f"kmap.audit ktest.filter={filter_glob} ktest.cpus={cpus}"
    if append:
        cmdline += " " + append
    log_path = build.BUILD / "logs" / "audit.log"
    print(f"himem audit: debug build, {cpus} CPU(s), {memory}, ktest.filter={filter_glob}; "
          f"full log in {log_path}", file=sys.stderr, flush=True)
    result = qemu.run(qemu.qemu_command(out / "himem.elf", machine, cmdline), silence=SILENCE,
                      timeout=TIMEOUT, log_path=log_path)
    verdict = ktap.judge(result)
    report = parse(result.log)
    if as_json:
        print(to_json(report, verdict))
    elif report.sites:
        print(table(report))
    ok = verdict.passed and report.whole
    if not ok:
        print(f"--- tail of the log ({result.describe()}) ---", file=sys.stderr)
        print(qemu.tail(result.log), file=sys.stderr)
    problems = "; ".join(report.problems)
    print(f"himem audit: {'PASS' if ok else 'FAIL'}: {len(report.sites)} call sites; "
          f"run: {verdict.reason}{'; ' + problems if problems else ''}", file=sys.stderr)
    return 0 if ok else 1
