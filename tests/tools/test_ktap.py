"""The host judge: it must accept a whole, green log and refuse every way a
log can lie or be cut short."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from himemlib import crash, ktap, qemu  # noqa: E402

GOOD = """boot: noise before the header
KTAP version 1
1..2
    KTAP version 1
    # Subtest: alpha
    1..2
    ok 1 first
WARNING: CPU: 0 at x.cpp:1 [site s]
    ok 2 second # SKIP not today
# alpha: pass:1 fail:0 skip:1 total:2
ok 1 alpha
    KTAP version 1
    # Subtest: beta
    1..1
    ok 1 only
# beta: pass:1 fail:0 skip:0 total:1
ok 2 beta
# Totals: pass:2 fail:0 skip:1 total:3
2 passed, 0 failed, 1 skipped
"""


def run_of(log, status=qemu.PASS_STATUS, ending="exited"):
    return qemu.RunResult(ending, status, log, 0.1)


class Judge(unittest.TestCase):
    def test_good_log_passes(self):
        v = ktap.judge(run_of(GOOD))
        self.assertTrue(v.passed, v.reason)
        self.assertEqual(v.report.counts, (2, 0, 1))

    def test_closing_line_disagreeing_with_results(self):
        v = ktap.judge(run_of(GOOD.replace("2 passed, 0 failed", "3 passed, 0 failed")))
        self.assertFalse(v.passed)
        self.assertIn("closing line says", v.reason)

    def test_plan_disagreeing_with_suites(self):
        v = ktap.judge(run_of(GOOD.replace("\n1..2\n", "\n1..3\n")))
        self.assertFalse(v.passed)
        self.assertIn("plan 1..3 but 2 suites ran", v.reason)

    def test_suite_plan_disagreeing_with_cases(self):
        v = ktap.judge(run_of(GOOD.replace("    1..1\n", "    1..2\n")))
        self.assertFalse(v.passed)
        self.assertIn("suite beta: plan 1..2 but 1 results", v.reason)

    def test_missing_closing_line(self):
        v = ktap.judge(run_of(GOOD.replace("2 passed, 0 failed, 1 skipped\n", "")))
        self.assertFalse(v.passed)
        self.assertIn("no closing line", v.reason)

    def test_failed_case(self):
        log = GOOD.replace("    ok 1 only", "    not ok 1 only").replace(
            "ok 2 beta", "not ok 2 beta").replace("2 passed, 0 failed", "1 passed, 1 failed")
        v = ktap.judge(run_of(log, status=qemu.FAIL_STATUS))
        self.assertFalse(v.passed)
        v = ktap.judge(run_of(log))
        self.assertFalse(v.passed)
        self.assertIn("beta.only", v.reason)

    def test_timeout_is_named(self):
        log = GOOD.replace("    ok 1 only", "    not ok 1 only # TIMEOUT").replace(
            "ok 2 beta", "not ok 2 beta").replace("2 passed, 0 failed", "1 passed, 1 failed")
        v = ktap.judge(run_of(log, status=qemu.FAIL_STATUS))
        self.assertIn("beta.only (TIMEOUT)", v.reason)

    def test_status_must_be_the_pass_value(self):
        for status in (0, 1, qemu.FAIL_STATUS):
            self.assertFalse(ktap.judge(run_of(GOOD, status=status)).passed)

    def test_killed_runs_fail(self):
        self.assertIn("hang", ktap.judge(run_of(GOOD, None, "silent")).reason)
        self.assertIn("too slow", ktap.judge(run_of(GOOD, None, "timeout")).reason)

    def test_no_header(self):
        self.assertIn("no 'KTAP version 1'", ktap.judge(run_of("garbage\n")).reason)

    def test_renumbered_case(self):
        v = ktap.judge(run_of(GOOD.replace("    ok 2 second", "    ok 3 second")))
        self.assertFalse(v.passed)
        self.assertIn("numbered 3", v.reason)

    def test_nothing_ran(self):
        log = "KTAP version 1\n1..0\n0 passed, 0 failed, 0 skipped\n"
        self.assertIn("no test ran", ktap.judge(run_of(log)).reason)


CRASH = """ktest.crash: running chain (expects site=inner frames=inner,outer)
kernel BUG at x.cpp:3! [site inner]
Call Trace:
  [<c0103ac6>] bug_report(BugSite const&, char const*, ...)+0x66/0xaf
  [<c0105e43>] (anonymous namespace)::inner(int)+0x33/0x34
  [<c0105e5b>] (anonymous namespace)::outer(int)+0xb/0x10
---[ end trace ]---
crash: site=inner cpu=0
"""


class CrashJudge(unittest.TestCase):
    def judge(self, log, status=qemu.FAIL_STATUS, site="inner", frames=("inner", "outer")):
        return crash.judge(run_of(log, status), "chain", site, list(frames))

    def test_expected_crash_passes(self):
        v = self.judge(CRASH)
        self.assertTrue(v.passed, v.reason)

    def test_wrong_site(self):
        self.assertIn("expected other", self.judge(CRASH, site="other").reason)

    def test_frames_out_of_order(self):
        v = self.judge(CRASH, frames=("outer", "inner"))
        self.assertFalse(v.passed)
        self.assertIn("function inner not in the call trace after the previous one", v.reason)

    def test_frame_missing(self):
        self.assertIn("function nowhere not in", self.judge(CRASH, frames=("nowhere",)).reason)

    def test_no_crash(self):
        log = "ktest.crash: running chain (x)\nktest.crash: chain returned without crashing\n"
        self.assertIn("did not crash", self.judge(log).reason)

    def test_pass_status_is_not_a_crash(self):
        self.assertFalse(self.judge(CRASH, status=qemu.PASS_STATUS).passed)

    def test_report_texts(self):
        log = CRASH.replace("Call Trace:", "region: guard page [vmalloc-guard]\nCall Trace:")
        ok = crash.judge(run_of(log, qemu.FAIL_STATUS), "chain", "inner", ["inner"],
                         ["[vmalloc-guard]"])
        self.assertTrue(ok.passed, ok.reason)
        missing = crash.judge(run_of(CRASH, qemu.FAIL_STATUS), "chain", "inner", ["inner"],
                              ["[vmalloc-guard]"])
        self.assertIn("lacks '[vmalloc-guard]'", missing.reason)

    def test_list_line(self):
        tests = crash.parse_list("ktest.list: crash a site=s frames=f,g manual=0 report=x y|z\n")
        self.assertEqual(tests, {"a": ("s", ["f", "g"], False, ["x y", "z"])})

    def test_name_match_is_exact(self):
        self.assertTrue(crash.names_function("(anonymous namespace)::inner(int)+0x3/0x4", "inner"))
        self.assertFalse(crash.names_function("winner(int)+0x3/0x4", "inner"))


if __name__ == "__main__":
    unittest.main()
