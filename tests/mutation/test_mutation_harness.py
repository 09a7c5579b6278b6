"""The mutation harness's own rules: mutant names, equivalent matching, the score, the settings, the sample."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
from mutation.harness import (
    REPO,
    Equivalent,
    HarnessError,
    Module,
    Mutant,
    Score,
    load_settings,
    quick_pattern,
    render_table,
    stale_equivalents,
)

DIFF = """\
# deploycheck.redact.xǁRedactorǁadd__mutmut_5: survived
--- src/deploycheck/redact.py
+++ src/deploycheck/redact.py
@@ -7,7 +7,7 @@
     with self._lock:
-        if len(value) < MIN_SECRET:
+        if len(value) <= MIN_SECRET:
             return
"""
MODULE = Module("redact", "lib/deploycheck/redact.py", ("tests/test_redact.py",))


def test_module_names_and_staged_path() -> None:
    """A module under lib/ is imported as deploycheck.* and staged under src/."""
    module = Module("schemadiff", "lib/deploycheck/rollback/schema/diff.py", ())
    assert module.dotted == "deploycheck.rollback.schema.diff"
    assert module.staged_path == "src/deploycheck/rollback/schema/diff.py"


def test_mutant_function_and_changed_lines() -> None:
    """A mutant names its function (methods as Class.method) and the lines it changed, headers left out."""
    mutant = Mutant("deploycheck.redact.xǁRedactorǁadd__mutmut_5", "survived", DIFF)
    assert mutant.function == "Redactor.add"
    assert mutant.removed == "if len(value) < MIN_SECRET:"
    assert mutant.added == "if len(value) <= MIN_SECRET:"
    assert Mutant("deploycheck.redact.x__secret_part__mutmut_1", "survived").function == "_secret_part"
    assert not mutant.killed and Mutant("m", "timeout").killed


def test_equivalent_matches_by_lines_not_by_number() -> None:
    """An entry matches a mutant of its function with the same changed lines, whatever mutmut's number."""
    entry = Equivalent("redact", "Redactor.add", "if len(value) < MIN_SECRET:", "if len(value) <= MIN_SECRET:", "r")
    assert entry.matches(Mutant("deploycheck.redact.xǁRedactorǁadd__mutmut_99", "survived", DIFF))
    other = DIFF.replace("<= MIN_SECRET", "< MIN_SECRET + 1")
    assert not entry.matches(Mutant("deploycheck.redact.xǁRedactorǁadd__mutmut_5", "survived", other))
    assert not entry.matches(Mutant("deploycheck.redact.xǁRedactorǁadd_public__mutmut_5", "survived", DIFF))


def test_score_counts_equivalent_mutants_out() -> None:
    """The score is killed / (mutants - equivalent); survivors exclude the equivalent ones."""
    mutants = [Mutant(f"m{i}", "killed") for i in range(8)] + [Mutant("s1", "survived"), Mutant("s2", "no tests")]
    score = Score(MODULE, mutants, equivalent=[mutants[8]])
    assert score.killed == 8
    assert score.score == pytest.approx(8 / 9)
    assert [m.name for m in score.survivors] == ["s2"]
    assert Score(MODULE, [Mutant("e", "survived")], equivalent=[Mutant("e", "survived")]).score == 1.0


def test_table_marks_modules_below_the_floor() -> None:
    """The table has a row per module with its counts and score, flagging those under the floor."""
    good = Score(MODULE, [Mutant("a", "killed")] * 9 + [Mutant("b", "survived")])
    bad = Score(Module("x", "lib/deploycheck/x.py", ()), [Mutant("a", "killed"), Mutant("b", "survived")])
    lines = render_table([good, bad], 0.9).splitlines()
    assert lines[0].split() == ["module", "mutants", "killed", "equivalent", "survived", "score", "time"]
    assert lines[2].split()[:7] == ["lib/deploycheck/redact.py", "10", "9", "0", "1", "90.0%", "ok"]
    assert lines[3].split()[:8] == ["lib/deploycheck/x.py", "2", "1", "0", "1", "50.0%", "below", "90%"]


def test_stale_equivalent_entries_are_found() -> None:
    """An entry that matches no surviving (or timed-out) mutant of a module that ran is stale."""
    entry = Equivalent("redact", "Redactor.add", "a", "b", "r")
    from mutation.harness import Settings

    settings = Settings(0.9, "37", {"redact": MODULE}, (entry,))
    assert stale_equivalents(settings, [Score(MODULE, [Mutant("m", "killed")])]) == [entry]
    # a timed-out mutant (a loaded machine) that an entry describes keeps the entry
    listed = Equivalent("redact", "Redactor.add", "if len(value) < MIN_SECRET:", "if len(value) <= MIN_SECRET:", "r")
    timed_out = Mutant("deploycheck.redact.xǁRedactorǁadd__mutmut_5", "timeout", DIFF)
    both = Settings(0.9, "37", {"redact": MODULE}, (listed,))
    assert stale_equivalents(both, [Score(MODULE, [timed_out])]) == []
    assert stale_equivalents(both, [Score(MODULE, [Mutant("m", "killed")])]) == [listed]
    assert stale_equivalents(settings, []) == []


def test_quick_sample_pattern_selects_by_last_digit() -> None:
    """The quick pattern picks the mutants whose number ends in one of the digits, in every function."""
    pattern = quick_pattern(MODULE, "37")
    names = [f"deploycheck.redact.xǁRedactorǁadd__mutmut_{n}" for n in (3, 7, 13, 17, 30, 5, 71)]
    assert [n for n in names if fnmatch.fnmatch(n, pattern)] == names[:4]
    assert not fnmatch.fnmatch("deploycheck.redact_extra.x_f__mutmut_3", pattern)


def test_listed_functions_narrow_the_mutants() -> None:
    """A module that lists functions runs only their mutants (methods as Class.method), in the quick
    sample only those numbered by its digits; a module without a list runs every mutant."""
    module = Module("confirm", "lib/deploycheck/sync/run.py", ("t.py",), ("_not_shown", "Syncer._record"))
    names = [
        "deploycheck.sync.run.x__not_shown__mutmut_7", "deploycheck.sync.run.xǁSyncerǁ_record__mutmut_12",
        "deploycheck.sync.run.xǁSyncerǁ_record__mutmut_17", "deploycheck.sync.run.xǁSyncerǁplan__mutmut_7",
        "deploycheck.sync.run.x__unknown__mutmut_7",
    ]  # fmt: skip

    def chosen(patterns: list[str]) -> list[str]:
        return [n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)]

    assert chosen(module.patterns()) == names[:3]
    assert chosen(module.patterns("7")) == [names[0], names[2]]
    assert MODULE.patterns() == []
    assert MODULE.patterns("7") == [quick_pattern(MODULE, "7")]


def test_repository_settings_name_existing_files() -> None:
    """mutation/modules.toml names existing modules and tests, and every equivalent entry a listed module."""
    settings = load_settings()
    assert settings.floor == 0.9
    assert {"redact", "drift_compare", "sot_rules", "http_retry", "outcomes", "schemadiff"} <= set(settings.modules)
    for module in settings.modules.values():
        assert (REPO / module.path).is_file()
        assert all(e.reason for e in settings.equivalents)


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    """A module without tests, a path that does not exist or an entry without a reason is a HarnessError."""
    modules = tmp_path / "modules.toml"
    none = tmp_path / "none.toml"
    modules.write_text('[modules.a]\npath = "lib/deploycheck/redact.py"\ntests = []\n', encoding="utf-8")
    with pytest.raises(HarnessError, match="needs a 'path' and a non-empty 'tests' list"):
        load_settings(modules, none)
    modules.write_text('[modules.a]\npath = "lib/deploycheck/gone.py"\ntests = ["tests/test_redact.py"]\n')
    with pytest.raises(HarnessError, match=r"gone\.py, which does not exist; repoint it"):
        load_settings(modules, none)
    modules.write_text('[modules.a]\npath = "lib/deploycheck/redact.py"\ntests = ["tests/test_redact.py"]\n')
    listed = tmp_path / "equivalent.toml"
    listed.write_text('[[equivalent]]\nmodule = "a"\nfunction = "f"\noriginal = "x"\nmutant = "y"\n')
    with pytest.raises(HarnessError, match="entry 1 needs reason"):
        load_settings(modules, listed)
    listed.write_text('[[equivalent]]\nmodule = "b"\nfunction = "f"\noriginal = "x"\nmutant = "y"\nreason = "r"\n')
    with pytest.raises(HarnessError, match="names module 'b'; known: a"):
        load_settings(modules, listed)


def test_equivalent_with_the_line_above_tells_twin_changes_apart() -> None:
    """When the same change can happen at two places, ``after`` (the line above it) picks the one meant."""
    twin = "--- a\n+++ a\n@@ -1,3 +1,3 @@\n     if where is None:\n-        continue\n+        break\n"
    mutant = Mutant("deploycheck.sot.rules.x__required__mutmut_15", "survived", twin)
    assert mutant.before == "if where is None:"
    entry = Equivalent("sot_rules", "_required", "continue", "break", "r", after="if where is None:")
    assert entry.matches(mutant)
    other = Mutant("deploycheck.sot.rules.x__required__mutmut_14", "survived", twin.replace("where is None", "key in present"))
    assert not entry.matches(other)
