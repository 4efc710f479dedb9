"""expect_log: every entry must be inside some line of the log."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from himemlib import logcheck  # noqa: E402

LOG = """boot: command line "himem.elf pmem=0@0x70000000"
pmem: 0@0x70000000 ignored (empty): SIZE is 0
KTAP version 1
"""


class ExpectLog(unittest.TestCase):
    def test_present_lines_pass(self):
        verdict = logcheck.check(LOG, ["ignored (empty): SIZE is 0", "KTAP version 1"])
        self.assertTrue(verdict.passed)
        self.assertIn("2 expected line(s)", verdict.reason)

    def test_each_missing_line_is_named(self):
        verdict = logcheck.check(LOG, ["ignored (empty)", "ignored (lowmem)", "ignored (misaligned)"])
        self.assertFalse(verdict.passed)
        self.assertIn("'ignored (lowmem)'", verdict.reason)
        self.assertIn("'ignored (misaligned)'", verdict.reason)
        self.assertNotIn("'ignored (empty)'", verdict.reason)

    def test_an_entry_does_not_match_across_lines(self):
        verdict = logcheck.check(LOG, ["SIZE is 0\nKTAP"])
        self.assertFalse(verdict.passed)


if __name__ == "__main__":
    unittest.main()
