"""The tree's layering rules (docs/architecture.md), checked on the sources:
a rule that only lives in a document is broken by the next change."""

import re
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What each layer may include, besides itself (design.md's table).
MAY_INCLUDE = {
    "lib": set(),
    "arch": {"lib"},
    "sched": {"arch", "lib"},
    "mm": {"arch", "sched", "lib"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/', re.M)
GENERIC = ("mm", "sched")


def sources(folder):
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix in (".h", ".cpp"):
            yield path


def code_lines(path):
    """(line number, text) of a source, comments dropped (good enough for these rules)."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        yield number, line.split("//", 1)[0]


class Layering(unittest.TestCase):
    def test_includes_point_down(self):
        wrong = []
        for layer, allowed in MAY_INCLUDE.items():
            folder = "arch/x86" if layer == "arch" else layer
            for path in sources(folder):
                for target in INCLUDE.findall(path.read_text()):
                    if target != layer and target not in allowed:
                        wrong.append(f"{path.relative_to(ROOT)} includes {target}/")
        self.assertEqual(wrong, [])

    def test_generic_code_has_no_inline_assembly(self):
        wrong = [f"{p.relative_to(ROOT)}:{n}" for layer in GENERIC for p in sources(layer)
                 for n, text in code_lines(p) if re.search(r"\basm\b|__asm__", text)]
        self.assertEqual(wrong, [])

    def test_the_scheduler_uses_lib_atomics_not_raw_builtins(self):
        wrong = [f"{p.relative_to(ROOT)}:{n}" for p in sources("sched")
                 for n, text in code_lines(p) if "__atomic_" in text or "__sync_" in text]
        self.assertEqual(wrong, [])

    def test_kernel_ptes_are_written_through_the_accessor(self):
        # A store into a page-table entry, by pointer or by index, that is not
        # set_pte/pte_clear: `*pte = ...`, `ptes[i] = ...`, `*lookup_kernel_pte(va) = ...`.
        # (An indexed name is a pte one when "pte" starts it or one of its
        # _-separated words: ptes[i], pkmap_ptes[i], not interrupted[i].)
        raw = re.compile(r"^\s*(\*\s*[\w:]*pte\w*(\([^)]*\))?|(?:[\w.>-]*[.>])?(?:\w*_)?pte\w*\s*\[[^\]]*\])"
                         r"\s*[\^|&]?=[^=]")
        wrong = []
        for p in sources("mm"):
            for n, text in code_lines(p):
                if raw.search(text) and "pteval" not in text:
                    wrong.append(f"{p.relative_to(ROOT)}:{n}: {text.strip()}")
        # Tables no walker can reach yet may be filled with plain stores.
        wrong = [w for w in wrong if "not reachable yet" not in w and "pt[i] = " not in w]
        self.assertEqual(wrong, [])

    def test_no_per_task_state_behind_a_cast(self):
        wrong = [f"{p.relative_to(ROOT)}:{n}" for folder in ("mm", "sched") for p in sources(folder)
                 for n, text in code_lines(p)
                 if re.search(r"reinterpret_cast<\s*\w*(Ctrl|State)\s*\*", text)]
        self.assertEqual(wrong, [])

    def test_test_knobs_live_in_testing_headers(self):
        # A production header may not declare what only tests use.
        knob = re.compile(r"\b(test_(?!and_)\w+|\w+_test_\w+|single_phase|inject_hook)\b")
        wrong = []
        for layer in ("arch/x86", "mm", "sched", "lib"):
            for p in sources(layer):
                if p.suffix != ".h" or p.name.endswith("_testing.h"):
                    continue
                for n, text in code_lines(p):
                    if knob.search(text):
                        wrong.append(f"{p.relative_to(ROOT)}:{n}: {text.strip()}")
        self.assertEqual(wrong, [])


if __name__ == "__main__":
    unittest.main()
