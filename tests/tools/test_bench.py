"""tools/himem bench: a slow or broken configuration is reported and left
out, only a wrong result fails the command, and --compare's ratios."""

import io
import sys
import unittest
from contextlib import redirect_stdout
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from himemlib import bench, qemu  # noqa: E402

CASE = "kmap_local_pairs"


def log(value, ok=True, mhz="1000.0"):
    result = "ok" if ok else "not ok"
    return f"""time: TSC {mhz} MHz
KTAP version 1
1..1
    KTAP version 1
    # Subtest: bench
    1..1
    # bench: kmap_local_highmem: {value} tsc/op (passes: {value} {value} {value})
    {result} 1 {CASE}
{result} 1 bench
{1 if ok else 0} passed, {0 if ok else 1} failed, 0 skipped
"""


def run_with(result, b=None):
    """boot() against a faked QEMU run; the boot and what it printed."""
    b = b or bench.Boot("release-icount", "release", True)
    lines = []

    def fake_run(cmd, on_line=None, **_):
        for line in result.log.split("\n"):
            on_line(line)
        return result

    with mock.patch.object(qemu, "run", fake_run):
        bench.boot(b, ops=10, passes=3, progress=lines.append)
    return b, lines


class Outcomes(unittest.TestCase):
    def test_a_passing_boot_gives_its_figures_and_prints_them_as_they_come(self):
        b, lines = run_with(qemu.RunResult("exited", qemu.PASS_STATUS, log(95), 1.0))
        self.assertEqual(b.outcome, "ok")
        self.assertEqual(b.values, {"kmap_local_highmem": 95})
        self.assertEqual(b.mhz, 1000.0)
        self.assertIn("  release-icount: kmap_local_highmem: 95 instructions/op", lines)

    def test_a_slow_boot_is_left_out_with_the_figures_it_printed(self):
        partial = log(95).split("    ok 1")[0]
        b, lines = run_with(qemu.RunResult("silent", None, partial, 300.0))
        self.assertEqual(b.outcome, "slow")
        self.assertEqual(b.values, {"kmap_local_highmem": 95})
        self.assertTrue(any("slow" in line for line in lines))

    def test_a_boot_that_cannot_start_is_failed_not_wrong(self):
        b, _ = run_with(qemu.RunResult("exited", 1, "qemu: bad option", 0.1))
        self.assertEqual(b.outcome, "failed")

    def test_a_kernel_that_reports_a_failure_is_a_wrong_result(self):
        b, _ = run_with(qemu.RunResult("exited", qemu.FAIL_STATUS, log(95, ok=False), 1.0))
        self.assertEqual(b.outcome, "wrong")

    def test_only_a_wrong_result_makes_the_exit_status_non_zero(self):
        boots = [bench.Boot(k, "release", True) for k in ("a", "b")]
        boots[0].outcome, boots[1].outcome = "ok", "slow"
        with redirect_stdout(io.StringIO()) as out:
            self.assertEqual(bench.print_outcomes(boots), 0)
        self.assertIn("b (release, icount, 1 CPU, bench.*): slow", out.getvalue())
        boots[1].outcome = "failed"
        with redirect_stdout(io.StringIO()):
            self.assertEqual(bench.print_outcomes(boots), 0)
        boots[1].outcome = "wrong"
        with redirect_stdout(io.StringIO()):
            self.assertEqual(bench.print_outcomes(boots), 1)
        boots[1].outcome = "ok"
        with redirect_stdout(io.StringIO()):
            self.assertEqual(bench.print_outcomes(boots, wrong=True), 1)

    def test_the_full_plan_reports_with_boots_missing(self):
        # Every boot but the first failed: the tables still print, exit 0.
        by_key = {b.key: b for b in bench.plan()}
        for b in by_key.values():
            b.outcome, b.reason = "slow", "killed"
        first = by_key["release-icount"]
        first.outcome, first.values = "ok", {"kmap_local_highmem": 95}
        with redirect_stdout(io.StringIO()) as out:
            self.assertEqual(bench.report(by_key, 3), 0)
        self.assertIn("kmap_local_page + store + kunmap_local, highmem", out.getvalue())

    def test_targets_say_met_or_over_per_build_and_derive_the_per_mapping_cost(self):
        values = {"kmap_hit": 121, "kmap_miss": 350, "context_switch_holding_0": 300,
                  "context_switch_holding_8": 460}
        with redirect_stdout(io.StringIO()) as out:
            bench.print_targets(values, {"kmap_hit": 120})
        text = out.getvalue()
        self.assertRegex(text, r"kmap hit\s+<= 120\s+121 over\s+120 met")
        self.assertRegex(text, r"kmap miss that did not wrap\s+<= 350\s+350 met")
        self.assertRegex(text, r"switch, per held mapping\s+<= 20\s+20 met\s+-")


class Compare(unittest.TestCase):
    def test_ratios_are_this_over_ref_and_the_wall_median_is_per_round(self):
        boots = bench.compare_plan(Path("/ref/himem.elf"), rounds=3)
        by_key = {b.key: b for b in boots}
        self.assertEqual([b.key for b in boots],
                         ["ref-icount", "this-icount", "ref-tcg-1", "this-tcg-1", "ref-tcg-2",
                          "this-tcg-2", "ref-tcg-3", "this-tcg-3"])
        self.assertTrue(all(b.kernel for b in boots if b.key.startswith("ref")))
        by_key["ref-icount"].values = {"x": 200}
        by_key["this-icount"].values = {"x": 100}
        for k, (r, t) in enumerate([(1000, 500), (1000, 600), (2000, 800)], 1):
            by_key[f"ref-tcg-{k}"].values, by_key[f"ref-tcg-{k}"].mhz = {"x": r}, 1000.0
            by_key[f"this-tcg-{k}"].values, by_key[f"this-tcg-{k}"].mhz = {"x": t}, 1000.0
        icount, wall = bench.ratios(boots, "REF", 3)
        self.assertEqual(icount["x"], (200, 100, 0.5))
        self.assertEqual(sorted(wall["x"]), [0.4, 0.5, 0.6])
        with redirect_stdout(io.StringIO()) as out:
            bench.print_comparison("REF", boots)
        self.assertRegex(out.getvalue(), r"x\s+200\s+100\s+0\.50\s+0\.50")


if __name__ == "__main__":
    unittest.main()
