"""The GDB helpers' formats (tools/gdb/himem_gdb/render.py) and the comparison
of their outputs with the kernel's dump (tools/himemlib/gdb_session.py)."""

import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "gdb"))

from himem_gdb import render  # noqa: E402
from himemlib import gdb_session  # noqa: E402


class RenderTest(unittest.TestCase):
    def test_kmap_says_whether_the_live_entry_agrees(self):
        s = render.KmapStack("t", 0xc0001000, 3, 1, True, 4, [
            render.KmapPos(0, 0xffffd000, 0x1234103, 0x1234163),
            render.KmapPos(1, 0xffffc000, 0x1235103, 0x1235103),
            render.KmapPos(2, 0xffffb000, 0x1236103, 0)])
        self.assertEqual(render.kmap(s).split("\n"), [
            "task t at 0xc0001000: kmap_local depth 3, current on CPU 1",
            "  pos  0 slot 0xffffd000 saved 0x01234103 frame 0x1234 live agrees (CPU set accessed dirty)",
            "  pos  1 slot 0xffffc000 saved 0x01235103 frame 0x1235 live agrees",
            "  pos  2 slot 0xffffb000 saved 0x01236103 frame 0x1236 live differs: 0x00000000"])

    def test_pae_entries_are_sixteen_digits_with_nx(self):
        w = render.Walk(0xff401000, "pkmap pool slot 1", 8,
                        [("pdpte", 0x213001), ("pde", 0x212003)], 0x8000000123456103)
        self.assertIn("  pte 0x8000000123456103 frame 0x123456 present write global nx",
                      render.pte(w).split("\n"))

    def test_pkmap_totals(self):
        p = render.Pool(1024, 0xff400000, 2, 0, 1, 1, 4,
                        [render.PoolSlot(1, 2, 0x3000103), render.PoolSlot(5, 1, 0x4000103)])
        self.assertEqual(render.pkmap(p).split("\n")[-1],
                         "totals: 1 held, 1 waiting for a wrap, 1022 free")

    def test_ring_text_unwraps(self):
        self.assertEqual(render.ring_text(b"cdab", 6), "abcd")
        self.assertEqual(render.ring_text(b"ab\0\0", 2), "ab")


class CompareTest(unittest.TestCase):
    SERIAL = ("boot\ngdbdump: begin\ngdbdump: himem pkmap\nline 1\nline 2\n"
              "gdbdump: $percpu(\"cpu_index\", 1) = 0x1\ngdbdump: end\n")

    def results(self, **outputs):
        base = {"himem pkmap": "line 1\nline 2\n", '$percpu("cpu_index", 1)': "0x1",
                "himem dmesg": self.SERIAL}
        base.update(outputs)
        return {"stopped": True, "outputs": base, "errors": {}, "serial": self.SERIAL}

    def test_agreement(self):
        expected = gdb_session.parse_dump(self.SERIAL)
        self.assertEqual(gdb_session.compare(expected, self.results()), [])

    def test_a_helper_that_disagrees_fails(self):
        expected = gdb_session.parse_dump(self.SERIAL)
        problems = gdb_session.compare(expected, self.results(**{"himem pkmap": "line 1\n"}))
        self.assertEqual(len(problems), 1)
        self.assertIn("'himem pkmap' disagrees", problems[0])

    def test_dmesg_must_be_the_serial_tail(self):
        expected = gdb_session.parse_dump(self.SERIAL)
        problems = gdb_session.compare(expected, self.results(**{"himem dmesg": "nonsense\n"}))
        self.assertEqual(problems, ["'himem dmesg' is not the tail of the serial log"])

    def test_no_stop_fails(self):
        self.assertEqual(gdb_session.compare({}, {"stopped": False}),
                         ["GDB did not stop in gdb_dump_stop"])


if __name__ == "__main__":
    unittest.main()
