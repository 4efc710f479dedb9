"""KTAP version 1 parsing and the pass/fail judgment of a kernel run.

The kernel prints, in order: boot messages, then

    KTAP version 1
    1..<suites>
        KTAP version 1
        # Subtest: <suite>
        1..<cases>
        ok 1 <case>                   (or "not ok", or "ok N name # SKIP why")
    # <suite>: pass:P fail:F skip:S total:T
    ok 1 <suite>
    # Totals: ...
    <P> passed, <F> failed, <S> skipped

Other lines (WARN reports, boot messages) may appear anywhere and are ignored.
The judgment is strict: plans must match the results actually printed, the
numbering must run 1..N, and the closing line must agree with the cases.
"""

import re
from dataclasses import dataclass, field

RESULT = re.compile(r"^(?P<indent> *)(?P<ok>ok|not ok) (?P<num>\d+) (?P<name>[^#]*?)"
                    r"(?: # (?P<directive>SKIP|XFAIL|TIMEOUT|ERROR)\b ?(?P<reason>.*))?$")
PLAN = re.compile(r"^(?P<indent> *)1\.\.(?P<count>\d+)$")
VERSION = re.compile(r"^(?P<indent> *)KTAP version 1$")
SUBTEST = re.compile(r"^ +# Subtest: (?P<name>\S+)$")
CLOSING = re.compile(r"^(?P<passed>\d+) passed, (?P<failed>\d+) failed(?:, (?P<skipped>\d+) skipped)?$")


@dataclass
class Case:
    name: str
    ok: bool
    directive: str | None


@dataclass
class Suite:
    name: str
    plan: int | None = None
    cases: list = field(default_factory=list)
    result_ok: bool | None = None


@dataclass
class Report:
    suites: list = field(default_factory=list)
    plan: int | None = None
    closing: tuple | None = None      # (passed, failed, skipped)
    problems: list = field(default_factory=list)
    found_header: bool = False

    @property
    def counts(self):
        passed = failed = skipped = 0
        for s in self.suites:
            for c in s.cases:
                if not c.ok:
                    failed += 1
                elif c.directive == "SKIP":
                    skipped += 1
                else:
                    passed += 1
        return passed, failed, skipped

    def failed_cases(self):
        return [f"{s.name}.{c.name}" + (f" ({c.directive})" if c.directive else "")
                for s in self.suites for c in s.cases if not c.ok]


def parse(log):
    report = Report()
    lines = log.split("\n")
    start = next((i for i, l in enumerate(lines) if l.strip() == "KTAP version 1"
                  and not l.startswith(" ")), None)
    if start is None:
        report.problems.append("no 'KTAP version 1' header")
        return report
    report.found_header = True
    current = None
    top_numbers = []
    for line in lines[start + 1:]:
        line = line.rstrip("\r")
        if m := CLOSING.match(line):
            report.closing = (int(m["passed"]), int(m["failed"]), int(m["skipped"] or 0))
            break
        if m := PLAN.match(line):
            if m["indent"] == "":
                if report.plan is not None:
                    report.problems.append("second top-level plan")
                report.plan = int(m["count"])
            elif current is not None and current.plan is None:
                current.plan = int(m["count"])
            continue
        if VERSION.match(line):
            if line.startswith(" "):
                current = Suite(name="?")
                report.suites.append(current)
            continue
        if m := SUBTEST.match(line):
            if current is not None:
                current.name = m["name"]
            continue
        if m := RESULT.match(line):
            ok = m["ok"] == "ok"
            num = int(m["num"])
            name = m["name"].strip()
            if m["indent"] == "":
                top_numbers.append(num)
                if current is None or current.name != name:
                    report.problems.append(f"suite result '{name}' without its subtest")
                else:
                    current.result_ok = ok
                    if ok and any(not c.ok for c in current.cases):
                        report.problems.append(f"suite {name} reported ok with failed cases")
                current = None
            elif current is not None:
                expected = len(current.cases) + 1
                if num != expected:
                    report.problems.append(f"{current.name}: case numbered {num}, expected {expected}")
                current.cases.append(Case(name, ok, m["directive"]))
            continue

    if report.plan is None:
        report.problems.append("no top-level plan")
    elif report.plan != len(report.suites):
        report.problems.append(f"plan 1..{report.plan} but {len(report.suites)} suites ran")
    if top_numbers != list(range(1, len(top_numbers) + 1)):
        report.problems.append(f"suite numbering is {top_numbers}")
    for s in report.suites:
        if s.plan is None:
            report.problems.append(f"suite {s.name} has no plan")
        elif s.plan != len(s.cases):
            report.problems.append(f"suite {s.name}: plan 1..{s.plan} but {len(s.cases)} results")
        if s.result_ok is None:
            report.problems.append(f"suite {s.name} has no result line")
    if report.closing is None:
        report.problems.append("no closing line 'N passed, N failed, N skipped'")
    elif report.closing != report.counts:
        report.problems.append(f"closing line says {report.closing} (passed, failed, skipped) "
                               f"but the KTAP results add up to {report.counts}")
    return report


@dataclass
class Verdict:
    passed: bool
    reason: str
    report: Report


def judge(run_result, pass_status=33):
    """Pass only when QEMU's status is the pass value AND the KTAP is whole and green."""
    report = parse(run_result.log)
    if run_result.ending != "exited":
        return Verdict(False, run_result.describe(), report)
    passed, failed, skipped = report.counts
    if failed and not report.problems:
        # A whole log with failed cases: name them, whatever the status says.
        return Verdict(False, f"{failed} case(s) failed: {', '.join(report.failed_cases())} "
                              f"({run_result.describe()})", report)
    if run_result.status != pass_status:
        detail = f"; {'; '.join(report.problems)}" if report.problems else ""
        return Verdict(False, run_result.describe() + detail, report)
    if report.problems:
        return Verdict(False, "; ".join(report.problems), report)
    if passed + skipped == 0:
        return Verdict(False, "no test ran", report)
    return Verdict(True, f"{passed} passed, {failed} failed, {skipped} skipped", report)
