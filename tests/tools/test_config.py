"""A matrix configuration as tools/himem reads it: defaults laid under each
entry, every mistake refused by name, crash entries expanded one per crash
test, and the JSON that carries a configuration to `run-config`."""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from himemlib import config, ktap, matrix  # noqa: E402

DEFAULTS = """
[defaults]
variant = "release"
cpus = "1"
memory = "128M"
cpu_model = "qemu32"
accel = ""
boot = "kernel"
append = ""
timeout = 120
silence = 90
expect = "pass"
"""


def parse(entries, defaults=DEFAULTS):
    return config.parse(defaults + entries)


def one(entry):
    [c] = parse("[[config]]\n" + entry)
    return c


def verdict(passed, reason):
    return ktap.Verdict(passed, reason, None)


class Defaults(unittest.TestCase):
    def test_an_entry_with_only_a_name_takes_every_default(self):
        c = one('name = "default"')
        self.assertEqual(c, config.Config(
            name="default", kind="boot", variant="release", cpus="1", memory="128M",
            cpu_model="qemu32", accel="", boot="kernel", append="", timeout=120.0,
            silence=90.0, expect="pass"))

    def test_the_entry_overrides_the_defaults(self):
        c = one('name = "smp4"\ncpus = "4"\nmemory = "2G"\ntimeout = 300')
        self.assertEqual((c.cpus, c.memory, c.timeout, c.variant), ("4", "2G", 300.0, "release"))

    def test_whole_seconds_are_kept_as_floats(self):
        self.assertIs(type(one('name = "x"').timeout), float)

    def test_the_project_matrix_is_valid(self):
        names = [c.name for c in matrix.load()]
        self.assertIn("default", names)
        self.assertIn("host.tools", names)


class Refusals(unittest.TestCase):
    """Each mistake ends the run with one message naming the configuration
    and the key: SystemExit, never a KeyError's traceback."""

    def assertRefused(self, text, *words, defaults=DEFAULTS):
        with self.assertRaises(SystemExit) as caught:
            parse(text, defaults)
        message = str(caught.exception.code)
        self.assertTrue(message.startswith("himem: tests/matrix.toml: "), message)
        for word in words:
            self.assertIn(word, message)
        return message

    def test_unknown_key(self):
        message = self.assertRefused('[[config]]\nname = "smp4"\ncpu = "4"',
                                     "configuration 'smp4'", "key 'cpu' is unknown")
        self.assertIn("did you mean 'cpus'?", message)

    def test_unknown_key_in_the_defaults(self):
        self.assertRefused('[[config]]\nname = "a"', "[defaults]", "key 'colour' is unknown",
                           defaults=DEFAULTS + 'colour = "blue"\n')

    def test_a_name_in_the_defaults(self):
        self.assertRefused('[[config]]\nname = "a"', "[defaults]", "key 'name'",
                           defaults=DEFAULTS + 'name = "b"\n')

    def test_crash_expansion_fields_cannot_be_set(self):
        self.assertRefused('[[config]]\nname = "a"\nsite = "panic"', "configuration 'a'",
                           "key 'site' is unknown")

    def test_unknown_table(self):
        self.assertRefused('[[configs]]\nname = "a"', "'configs': unknown")

    def test_config_entries_must_be_tables(self):
        self.assertRefused('config = ["default"]', "'config': must be tables", defaults="")

    def test_not_toml(self):
        self.assertRefused('[[config]]\nname = ', "not TOML", "Invalid value")

    def test_missing_name(self):
        self.assertRefused('[[config]]\ncpus = "2"', "[[config]]", "a table without a name")

    def test_missing_key_without_a_default(self):
        self.assertRefused('[[config]]\nname = "a"', "configuration 'a'",
                           "key 'variant' is missing",
                           defaults=DEFAULTS.replace('variant = "release"\n', ""))

    def test_wrong_types(self):
        for entry, key, what in (('cpus = 4', "cpus", "must be a string, not 4"),
                                 ('timeout = "120"', "timeout", "must be a number, not '120'"),
                                 ('timeout = true', "timeout", "must be a number, not True"),
                                 ('check_memory = "yes"', "check_memory", "must be true or false"),
                                 ('append = ["a", "b"]', "append", "must be a string")):
            with self.subTest(entry):
                self.assertRefused(f'[[config]]\nname = "a"\n{entry}', "configuration 'a'",
                                   f"key '{key}' {what}")

    def test_wrong_type_in_the_defaults(self):
        self.assertRefused('[[config]]\nname = "a"', "[defaults]", "key 'silence' must be a number",
                           defaults=DEFAULTS.replace("silence = 90", 'silence = "90"'))

    def test_values_outside_their_choices(self):
        for key, value in (("kind", "bot"), ("variant", "relase"), ("boot", "cdrom"),
                           ("expect", "pass?")):
            with self.subTest(key):
                self.assertRefused(f'[[config]]\nname = "a"\n{key} = "{value}"',
                                   "configuration 'a'", f"key '{key}' is '{value}', not one of")

    def test_cpus_without_a_count(self):
        self.assertRefused('[[config]]\nname = "a"\ncpus = "sockets=2,cores=3"',
                           "configuration 'a'", "key 'cpus'", "does not start with a CPU count")

    def test_time_limits_must_be_positive(self):
        self.assertRefused('[[config]]\nname = "a"\nsilence = 0', "configuration 'a'",
                           "key 'silence' must be more than 0")

    def test_expect_fail_without_a_reason(self):
        self.assertRefused('[[config]]\nname = "h"\nexpect = "fail"', "configuration 'h'",
                           "key 'expect_reason' is needed with expect = 'fail'")

    def test_a_reason_with_expect_pass(self):
        self.assertRefused('[[config]]\nname = "h"\nexpect_reason = "hang"', "configuration 'h'",
                           "key 'expect_reason' means nothing with expect = 'pass'")

    def test_crash_entry_without_crash(self):
        self.assertRefused('[[config]]\nname = "c"\nkind = "crash"', "configuration 'c'",
                           "key 'crash' is needed with kind = 'crash'")

    def test_crash_on_another_kind(self):
        self.assertRefused('[[config]]\nname = "c"\ncrash = "*"', "configuration 'c'",
                           "key 'crash' applies to kind = 'crash' only, not 'boot'")

    def test_host_entry_without_command(self):
        self.assertRefused('[[config]]\nname = "host.x"\nkind = "host"', "configuration 'host.x'",
                           "key 'command' is needed with kind = 'host'")

    def test_command_on_another_kind(self):
        self.assertRefused('[[config]]\nname = "b"\ncommand = "true"', "configuration 'b'",
                           "key 'command' applies to kind = 'host' only, not 'boot'")

    def test_check_memory_on_another_kind(self):
        self.assertRefused('[[config]]\nname = "g"\nkind = "gdb"\ncheck_memory = true',
                           "configuration 'g'", "key 'check_memory' applies to kind = 'boot' only")

    def test_duplicate_names(self):
        self.assertRefused('[[config]]\nname = "a"\n[[config]]\nname = "b"\n[[config]]\nname = "a"',
                           "duplicate configuration names ['a']")


# What a ktest.list boot announces: name -> (site, frames, manual, report).
CRASH_TESTS = {
    "stack_overflow": ("x86.stack_overflow", ["recurse_until_overflow"], False, []),
    "kmap_local_k4_one_mapping_too_many": ("kmap_local_push", ["kmap_local_push"], False,
                                           ["slot"]),
    "kmap_local_k5_unmap_with_an_empty_stack": ("kmap_local_pop", [], False, []),
    "harness_crash_removed": ("panic", [], True, []),
}


class CrashExpansion(unittest.TestCase):
    def expand(self, entry):
        return config.expand_crash(one('kind = "crash"\n' + entry), CRASH_TESTS)

    def test_one_configuration_per_crash_test_named_entry_dot_test(self):
        names = [c.name for c in self.expand('name = "crash"\ncrash = "kmap_local_*"')]
        self.assertEqual(names, ["crash.kmap_local_k4_one_mapping_too_many",
                                 "crash.kmap_local_k5_unmap_with_an_empty_stack"])

    def test_the_test_is_appended_to_the_command_line(self):
        [c] = self.expand('name = "crash"\ncrash = "stack_overflow"\nappend = "highmem=32M"')
        self.assertEqual(c.append, "highmem=32M ktest.crash=stack_overflow")
        [c] = self.expand('name = "crash"\ncrash = "stack_overflow"')
        self.assertEqual(c.append, "ktest.crash=stack_overflow")

    def test_each_carries_what_its_test_must_show(self):
        [c] = self.expand('name = "crash"\ncrash = "kmap_local_k4*"')
        self.assertEqual((c.crash_name, c.site, c.frames, c.report),
                         ("kmap_local_k4_one_mapping_too_many", "kmap_local_push",
                          ("kmap_local_push",), ("slot",)))
        self.assertEqual((c.kind, c.crash), ("crash", "kmap_local_k4*"))

    def test_a_manual_test_only_when_named_exactly(self):
        everything = [c.crash_name for c in self.expand('name = "crash"\ncrash = "*"')]
        self.assertNotIn("harness_crash_removed", everything)
        self.assertEqual(len(everything), 3)
        [c] = self.expand('name = "harness.crash-removed"\ncrash = "harness_crash_removed"\n'
                          'expect = "fail"\nexpect_reason = "did not crash"')
        self.assertEqual(c.name, "harness.crash-removed.harness_crash_removed")

    def test_a_glob_naming_no_test_is_refused(self):
        for pattern in ("no_such_*", "harness_*"):
            with self.subTest(pattern), self.assertRaises(SystemExit) as caught:
                self.expand(f'name = "crash-x"\ncrash = "{pattern}"')
            self.assertIn("configuration 'crash-x': key 'crash'", str(caught.exception.code))
            self.assertIn("names no crash test of the release kernel", str(caught.exception.code))


class Derived(unittest.TestCase):
    def test_cpu_count_is_the_first_number_of_smp(self):
        for cpus, count, smp in (("1", 1, False), ("4", 4, True), ("16", 16, True),
                                 ("6,sockets=2,cores=3", 6, True)):
            with self.subTest(cpus):
                c = one(f'name = "a"\ncpus = "{cpus}"')
                self.assertEqual((c.cpu_count, c.is_smp), (count, smp))

    def test_the_machine_is_the_configurations(self):
        m = one('name = "a"\ncpus = "4"\nmemory = "2G"\naccel = "tcg,thread=single"').machine
        self.assertEqual((m.cpus, m.memory, m.cpu_model, m.accel),
                         ("4", "2G", "qemu32", "tcg,thread=single"))


class Outcome(unittest.TestCase):
    def test_expect_pass(self):
        c = one('name = "default"')
        self.assertTrue(c.outcome_ok(verdict(True, "15 passed, 0 failed, 1 skipped")))
        self.assertFalse(c.outcome_ok(verdict(False, "1 case(s) failed: a.b")))
        self.assertEqual(c.expectation, "pass")

    def test_expect_fail_for_a_reason(self):
        c = one('name = "harness.hang"\nexpect = "fail"\n'
                'expect_reason = "no serial output within the silence limit"')
        self.assertTrue(c.outcome_ok(verdict(
            False, "killed: no serial output within the silence limit (hang)")))
        self.assertFalse(c.outcome_ok(verdict(False, "killed: total time limit reached")),
                         "a failure for another reason is not the one expected")
        self.assertFalse(c.outcome_ok(verdict(True, "no serial output within the silence limit")),
                         "a pass is never the failure expected")
        self.assertEqual(c.expectation,
                         "judged failed for: no serial output within the silence limit")


class Json(unittest.TestCase):
    def round_trip(self, c):
        return config.Config.from_json(json.loads(json.dumps(c.to_json())))

    def test_a_boot_configuration(self):
        c = one('name = "smp6"\ncpus = "6,sockets=2,cores=3"\ncheck_memory = true\n'
                'append = "ktest.filter=mm_*"')
        self.assertEqual(self.round_trip(c), c)

    def test_an_expanded_crash_configuration(self):
        [c] = config.expand_crash(one('name = "crash"\nkind = "crash"\ncrash = "kmap_local_k4*"'),
                                  CRASH_TESTS)
        back = self.round_trip(c)
        self.assertEqual(back, c)
        self.assertIsInstance(back.frames, tuple)

    def test_a_host_configuration(self):
        c = one('name = "host.lib"\nkind = "host"\ncommand = "build/host/lib_tests"')
        self.assertEqual(self.round_trip(c), c)


if __name__ == "__main__":
    unittest.main()
