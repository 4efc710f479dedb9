"""tools/himem audit's reading of the kernel's kmap_atomic audit report."""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from himemlib import audit, ktap  # noqa: E402

REPORT = """# kmap_audit: pass:2 fail:0 skip:0 total:2
ok 1 kmap_audit
# kmap_audit: report: 3 call sites, recording on
# kmap_audit: site 1 at example_plain_copy+0x238: 8 runs: convert as is
# kmap_audit: site 2 at example_per_cpu_counter+0x235: 9 runs: convert, keeping preempt_disable()
# kmap_audit: site 2: percpu_access x9 (preemption), first at sched::smp_processor_id_checked+0x87 <- example_per_cpu_counter+0x108
# kmap_audit: site 2: preempted x1 (kmap_atomic would have prevented it), first at CPU 0
# kmap_audit: site 2: ran meanwhile: 3 switches, 2 tasks: audit-rival, idle/0
# kmap_audit: site 3 at (anonymous)::f(int)+0x10: 1 run: convert as is
# kmap_audit: site 3: may_sleep x2 (harmless under kmap_local: a bug kmap_atomic hid), first at sched::sleep_ticks+0x12d <- f+0x108
# kmap_audit: site 3: ran meanwhile: 1 switch, 1 task: idle/1
# kmap_audit: end of report
# Totals: pass:2 fail:0 skip:0 total:2
"""


class AuditReport(unittest.TestCase):
    def test_rows_events_and_who_ran_meanwhile(self):
        r = audit.parse(REPORT)
        self.assertTrue(r.whole, r.problems)
        self.assertEqual(r.recording, "on")
        self.assertEqual([s.verdict for s in r.sites],
                         ["convert as is", "convert, keeping preempt_disable()", "convert as is"])
        per_cpu = r.sites[1]
        self.assertEqual((per_cpu.site, per_cpu.runs), ("example_per_cpu_counter+0x235", 9))
        self.assertEqual([(e.kind, e.count, e.dependency) for e in per_cpu.events],
                         [("percpu_access", 9, "preemption"),
                          ("preempted", 1, "kmap_atomic would have prevented it")])
        self.assertEqual(per_cpu.events[0].first,
                         "sched::smp_processor_id_checked+0x87 <- example_per_cpu_counter+0x108")
        self.assertEqual((per_cpu.switches_meanwhile, per_cpu.ran_meanwhile),
                         (3, "audit-rival, idle/0"))
        self.assertEqual((r.sites[2].site, r.sites[2].runs), ("(anonymous)::f(int)+0x10", 1))
        self.assertEqual((r.sites[2].switches_meanwhile, r.sites[2].ran_meanwhile), (1, "idle/1"))
        self.assertEqual(r.sites[2].events[0].dependency,
                         "harmless under kmap_local: a bug kmap_atomic hid")

    def test_the_last_report_counts(self):
        twice = REPORT.replace("recording on", "recording off", 1) + REPORT
        self.assertEqual(audit.parse(twice).recording, "on")

    def test_a_cut_report_is_not_whole(self):
        cut = REPORT.replace("# kmap_audit: end of report\n", "")
        self.assertIn("the report has no end line", audit.parse(cut).problems)
        short = REPORT.replace("3 call sites", "4 call sites")
        self.assertIn("the report names 4 call sites and lists 3", audit.parse(short).problems)
        odd = REPORT.replace("8 runs: convert as is", "8 runs: convert maybe")
        self.assertIn("site 1: unknown verdict 'convert maybe'", audit.parse(odd).problems)

    def test_no_report(self):
        r = audit.parse("KTAP version 1\n1..0\n")
        self.assertFalse(r.whole)
        self.assertEqual(r.sites, [])

    def test_table_and_json(self):
        r = audit.parse(REPORT)
        text = audit.table(r)
        self.assertIn("convert, keeping preempt_disable()", text)
        self.assertIn("percpu_access 9, preempted 1; ran meanwhile: audit-rival, idle/0", text)
        data = json.loads(audit.to_json(r, ktap.Verdict(True, "2 passed", None)))
        self.assertEqual(data["sites"][1]["events"][0]["kind"], "percpu_access")
        self.assertTrue(data["passed"])


if __name__ == "__main__":
    unittest.main()
