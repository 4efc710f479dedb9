"""The soak's judge: a pass needs the kernel's PASS line, on the CPUs asked
for, and a log the KTAP judge passes."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from himemlib import qemu, soak  # noqa: E402

CASE = "kmap_local_kmap_and_notifiers_on_every_cpu_until_the_time_is_up"
COUNTS = ("kmap_local 90 ops, 9 preemptions holding, 40 interrupt maps; kmap 30 ops, "
          "2 wraps; device 70 accesses, 8 invalidations; 0 mismatches")
PASSED = f"""KTAP version 1
1..1
    KTAP version 1
    # Subtest: soak
    1..1
    # soak: 10 s: {COUNTS}
    # soak: PASS after 12 s on 2 CPUs: {COUNTS}
    ok 1 {CASE}
# soak: pass:1 fail:0 skip:0 total:1
ok 1 soak
# Totals: pass:1 fail:0 skip:0 total:1
1 passed, 0 failed, 0 skipped
"""
FAILED = (PASSED.replace("# soak: PASS after 12 s on 2 CPUs",
                         "# soak: FAIL after 10 s on 2 CPUs: 3 mismatches")
          .replace(f"    ok 1 {CASE}", f"    not ok 1 {CASE}")
          .replace("ok 1 soak", "not ok 1 soak")
          .replace("1 passed, 0 failed", "0 passed, 1 failed"))


def run_of(log, status=qemu.PASS_STATUS, ending="exited"):
    return qemu.RunResult(ending, status, log, 0.1)


class SoakJudge(unittest.TestCase):
    def test_pass_line_on_the_cpus_asked_for_passes(self):
        passed, verdict = soak.judge(run_of(PASSED), cpus=2)
        self.assertTrue(passed, verdict)
        self.assertEqual(verdict, f"PASS after 12 s on 2 CPUs: {COUNTS} "
                                  "(1 passed, 0 failed, 0 skipped)")

    def test_other_cpu_count_fails(self):
        passed, reason = soak.judge(run_of(PASSED), cpus=8)
        self.assertFalse(passed)
        self.assertIn("ran on 2 CPUs, not the 8 asked for", reason)

    def test_kernel_fail_line_is_the_reason(self):
        passed, reason = soak.judge(run_of(FAILED, status=qemu.FAIL_STATUS), cpus=2)
        self.assertFalse(passed)
        self.assertTrue(reason.startswith("FAIL after 10 s on 2 CPUs: 3 mismatches"))
        self.assertIn("1 case(s) failed", reason)

    def test_fail_line_fails_even_with_a_green_ktap(self):
        log = PASSED.replace("soak: PASS after", "soak: FAIL after")
        self.assertFalse(soak.judge(run_of(log), cpus=2)[0])

    def test_the_suites_summary_is_not_a_report(self):
        self.assertIsNone(soak.REPORT.match("# soak: pass:1 fail:0 skip:0 total:1"))
        self.assertEqual(soak.REPORT.match(f"    # soak: 10 s: {COUNTS}")["text"],
                         f"soak: 10 s: {COUNTS}")

    def test_no_verdict_line_fails(self):
        log = PASSED.replace(f"    # soak: PASS after 12 s on 2 CPUs: {COUNTS}\n", "")
        passed, reason = soak.judge(run_of(log), cpus=2)
        self.assertFalse(passed)
        self.assertIn("no soak verdict", reason)

    def test_a_hang_after_reports_fails_as_a_hang(self):
        log = PASSED.split("    # soak: PASS")[0]
        passed, reason = soak.judge(run_of(log, status=None, ending="silent"), cpus=2)
        self.assertFalse(passed)
        self.assertTrue(reason.startswith("FAIL: killed: no serial output within the silence"))

    def test_the_duration_reaches_the_kernel(self):
        self.assertEqual(soak.append_for(600), "ktest.filter=soak.* ktest.soak_seconds=600")


if __name__ == "__main__":
    unittest.main()
